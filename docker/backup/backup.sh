#!/bin/sh
# Database backups: pg_dump in custom format, optionally encrypted to the clinic's GPG
# public key, kept BACKUP_KEEP_DAYS days; and the restore check that proves a dump restores.
# Plain POSIX sh, so the same script runs on a host and in the postgres image compose runs
# it in (README, "Backups and restore").
#
#   backup.sh once            one backup now, then prune; exits non-zero on failure
#   backup.sh daily           a backup every day at BACKUP_TIME (the compose service)
#   backup.sh check           exits non-zero unless the newest dump is younger than
#                             BACKUP_MAX_AGE_HOURS (the compose health check)
#   backup.sh restore-check [DUMP]
#                             restores DUMP (default: the newest; -: standard input) into a
#                             new scratch database and compares every table's row count
#                             with the source
#
# Settings (environment):
#   DATABASE_URL              postgres://user:password@host:port/name; unset: libpq's own
#                             PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
#   BACKUP_DIR                where dumps go (default ./backups)
#   BACKUP_KEEP_DAYS          dumps older than this many days are deleted (default 14)
#   BACKUP_TIME               HH:MM, local time of the daily backup (TZ; default 02:30)
#   BACKUP_MAX_AGE_HOURS      for `check` (default 26)
#   BACKUP_GPG_PUBLIC_KEY_FILE    set: encrypt every dump to this key (ASCII or binary)
#   BACKUP_GPG_PRIVATE_KEY_FILE   restore-check of an encrypted dump: the private key,
#                             without a passphrase (CI's throwaway key). With the clinic's
#                             own key, decrypt on your computer and pipe the dump in (DUMP -)
#
# Logs name files, sizes and durations only: never a password, a URL or a row of data.
set -u
umask 077

BACKUP_DIR=${BACKUP_DIR:-./backups}
BACKUP_KEEP_DAYS=${BACKUP_KEEP_DAYS:-14}
BACKUP_TIME=${BACKUP_TIME:-02:30}
BACKUP_MAX_AGE_HOURS=${BACKUP_MAX_AGE_HOURS:-26}
BACKUP_GPG_PUBLIC_KEY_FILE=${BACKUP_GPG_PUBLIC_KEY_FILE:-}
BACKUP_GPG_PRIVATE_KEY_FILE=${BACKUP_GPG_PRIVATE_KEY_FILE:-}

# Everything this run creates outside BACKUP_DIR (gpg's home, pipe statuses), removed on exit.
WORK=""
PARTIAL=""
SCRATCH_DB=""
SLEEP_PID=""

log() {
    printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

fail() {
    log "ERROR: $*"
    exit 1
}

cleanup() {
    [ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
    [ -n "$PARTIAL" ] && rm -f "$PARTIAL"
    if [ -n "$SCRATCH_DB" ]; then
        dropdb_scratch
    fi
    if [ -n "$WORK" ]; then
        GNUPGHOME="$WORK/gnupg" gpgconf --kill gpg-agent >/dev/null 2>&1
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work_dir() {
    [ -n "$WORK" ] || WORK=$(mktemp -d "${TMPDIR:-/tmp}/clinic-backup.XXXXXX") || fail "cannot make a temporary folder"
    mkdir -p "$WORK/gnupg"
}

# pg_dump, psql and friends take the URL as --dbname; without one, libpq reads PG*.
connection() {
    case "${DATABASE_URL:-}" in
        "") ;;
        postgres://* | postgresql://*) ;;
        *) fail "DATABASE_URL is not a PostgreSQL URL (postgres://...)" ;;
    esac
}

# Runs a libpq client ("$@") on database $1 of the source's server ("": the source itself).
on_db() {
    _db=$1
    shift
    if [ -n "${DATABASE_URL:-}" ]; then
        _url=$DATABASE_URL
        if [ -n "$_db" ]; then
            _url=$(printf '%s' "$DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$_db#")
        fi
        "$@" --dbname="$_url"
    elif [ -n "$_db" ]; then
        "$@" --dbname="$_db"
    else
        "$@"
    fi
}

psql_on() {
    _db=$1
    shift
    on_db "$_db" psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

source_name() {
    _current=$(psql_on "" -c 'SELECT current_database()') || fail "cannot connect to the database"
    printf '%s' "$_current"
}

# Runs "$@" with stdin from the previous pipe stage; records its exit status in $WORK/$1.
# POSIX sh has no pipefail: each stage of a pipe reports its own status this way.
with_status() {
    status_file="$WORK/$1"
    shift
    "$@"
    echo $? >"$status_file"
}

status_of() {
    cat "$WORK/$1" 2>/dev/null || echo 1
}

# Prints the error output the database tools left in $WORK/$1, less the DETAIL and CONTEXT
# lines of server errors, which can quote a row ("Key (email)=(...)", "COPY ..., line 3:
# ...").
show_errors() {
    [ -s "$WORK/$1" ] && sed -E '/^(DETAIL|CONTEXT): /d' "$WORK/$1" >&2
    return 0
}

newest_dump() {
    # Names carry a UTC timestamp, so the last in name order is the newest of a database;
    # across databases, the newest by time. ls -t is POSIX and the names have no spaces.
    # shellcheck disable=SC2012
    ls -1t "$BACKUP_DIR"/*-*Z.dump "$BACKUP_DIR"/*-*Z.dump.gpg 2>/dev/null | head -n 1
}

human_size() {
    wc -c <"$1" | awk '{ n = $1; u = "B"; if (n >= 1048576) { n /= 1048576; u = "MiB" } else if (n >= 1024) { n /= 1024; u = "KiB" } printf "%.1f %s", n, u }'
}

backup_once() {
    connection
    case "$BACKUP_KEEP_DAYS" in
        "" | *[!0-9]*) fail "BACKUP_KEEP_DAYS must be a whole number of days" ;;
    esac
    [ "$BACKUP_KEEP_DAYS" -ge 1 ] || fail "BACKUP_KEEP_DAYS must be at least 1"
    mkdir -p "$BACKUP_DIR" || fail "cannot make $BACKUP_DIR"
    chmod 700 "$BACKUP_DIR" 2>/dev/null || true
    if [ -n "$BACKUP_GPG_PUBLIC_KEY_FILE" ] && [ ! -r "$BACKUP_GPG_PUBLIC_KEY_FILE" ]; then
        # Never fall back to an unencrypted dump when encryption was asked for.
        fail "BACKUP_GPG_PUBLIC_KEY_FILE is set but cannot be read: $BACKUP_GPG_PUBLIC_KEY_FILE"
    fi
    work_dir
    started=$(date +%s)
    db=$(source_name) || exit 1
    name="$db-$(date -u +%Y%m%dT%H%M%SZ).dump"
    if [ -n "$BACKUP_GPG_PUBLIC_KEY_FILE" ]; then
        name="$name.gpg"
    fi
    final="$BACKUP_DIR/$name"
    # A dot name until complete: nothing that lists dumps sees a half-written one.
    PARTIAL="$BACKUP_DIR/.$name.partial"

    if [ -n "$BACKUP_GPG_PUBLIC_KEY_FILE" ]; then
        # Streamed: the unencrypted dump never touches the disk. The dump is compressed
        # already, so gpg does not compress again.
        with_status dump on_db "" pg_dump --format=custom 2>"$WORK/dump.err" | with_status gpg gpg --batch --quiet --homedir "$WORK/gnupg" --no-tty \
            --compress-algo none --recipient-file "$BACKUP_GPG_PUBLIC_KEY_FILE" \
            --encrypt --output - >"$PARTIAL"
        show_errors dump.err
        # gpg first: when it fails, pg_dump fails too, writing into a closed pipe.
        [ "$(status_of gpg)" = 0 ] || fail "gpg could not encrypt to $BACKUP_GPG_PUBLIC_KEY_FILE; no dump written"
        [ "$(status_of dump)" = 0 ] || fail "pg_dump failed (its message is above); no dump written"
    else
        on_db "" pg_dump --format=custom --file="$PARTIAL" 2>"$WORK/dump.err" || {
            show_errors dump.err
            fail "pg_dump failed (its message is above); no dump written"
        }
        show_errors dump.err
        # The table of contents reads back: the file is a whole custom-format archive.
        pg_restore --list "$PARTIAL" >/dev/null || fail "the dump does not read back; no dump written"
    fi
    [ -s "$PARTIAL" ] || fail "the dump is empty; no dump written"
    mv "$PARTIAL" "$final" || fail "cannot rename the dump into place"
    PARTIAL=""
    if [ -n "$BACKUP_GPG_PUBLIC_KEY_FILE" ]; then
        how="encrypted"
    else
        how="NOT encrypted (set BACKUP_GPG_PUBLIC_KEY_FILE)"
    fi
    log "wrote $name ($(human_size "$final"), $how) in $(($(date +%s) - started)) s"
    prune
}

prune() {
    # Older than N days by modification time; only this script's own names.
    find "$BACKUP_DIR" -maxdepth 1 -type f \
        \( -name '*-*Z.dump' -o -name '*-*Z.dump.gpg' -o -name '.*.partial' \) \
        -mmin +$((BACKUP_KEEP_DAYS * 1440)) -print | while read -r old; do
        rm -f "$old" && log "deleted $(basename "$old") (older than $BACKUP_KEEP_DAYS days)"
    done
}

# Exits 0 when the newest dump is younger than BACKUP_MAX_AGE_HOURS.
check_age() {
    newest=$(newest_dump)
    [ -n "$newest" ] || fail "no dump in $BACKUP_DIR"
    if [ -n "$(find "$newest" -mmin -$((BACKUP_MAX_AGE_HOURS * 60)))" ]; then
        log "newest dump: $(basename "$newest")"
    else
        fail "the newest dump, $(basename "$newest"), is older than $BACKUP_MAX_AGE_HOURS hours"
    fi
}

seconds_until() {
    # Seconds from now until the next HH:MM in local time (TZ).
    hh=${1%%:*}
    mm=${1#*:}
    now_h=$(date +%H)
    now_m=$(date +%M)
    now_s=$(date +%S)
    # Strip one leading zero each: sh arithmetic reads 08 as a bad octal number.
    target=$((${hh#0} * 3600 + ${mm#0} * 60))
    now=$((${now_h#0} * 3600 + ${now_m#0} * 60 + ${now_s#0}))
    wait=$((target - now))
    [ "$wait" -gt 0 ] || wait=$((wait + 86400))
    echo "$wait"
}

daily() {
    case "$BACKUP_TIME" in
        [0-1][0-9]:[0-5][0-9] | 2[0-3]:[0-5][0-9]) ;;
        *) fail "BACKUP_TIME must be HH:MM (24-hour clock), not $BACKUP_TIME" ;;
    esac
    # A container stopped at backup time: catch up at once rather than wait a day.
    if [ -z "$(find "$BACKUP_DIR" -maxdepth 1 -type f \( -name '*-*Z.dump' -o -name '*-*Z.dump.gpg' \) -mmin -1440 2>/dev/null)" ]; then
        log "no dump from the last 24 hours: backing up now"
        sh "$0" once || log "backup failed; next try at $BACKUP_TIME"
    fi
    while :; do
        wait=$(seconds_until "$BACKUP_TIME")
        log "next backup at $BACKUP_TIME $(date +%Z) (in $wait s)"
        # In the background, so a stop signal ends the wait at once.
        sleep "$wait" &
        SLEEP_PID=$!
        wait "$SLEEP_PID"
        SLEEP_PID=""
        # Its own process: a failed backup logs, cleans up after itself and exits; the
        # loop goes on.
        sh "$0" once || log "backup failed; next try at $BACKUP_TIME"
    done
}

dropdb_scratch() {
    _scratch=$SCRATCH_DB
    SCRATCH_DB=""
    if psql_on "" -c "DROP DATABASE IF EXISTS \"$_scratch\"" >/dev/null; then
        log "dropped the scratch database $_scratch"
    else
        log "ERROR: could not drop the scratch database $_scratch: drop it by hand"
    fi
}

# Every table outside the system schemas, as "schema.table|exact row count", sorted.
COUNT_ROWS="
SELECT format('%s.%s', schemaname, tablename) || '|' ||
       (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(*) AS n FROM %I.%I', schemaname, tablename),
           false, true, '')))[1]::text
FROM pg_tables
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1"

restore_check() {
    connection
    dump=${1:-$(newest_dump)}
    [ -n "$dump" ] || fail "no dump in $BACKUP_DIR"
    [ "$dump" = - ] || [ -r "$dump" ] || fail "cannot read $dump"
    label=$(basename "$dump")
    [ "$dump" != - ] || label="the dump on standard input"
    case "$dump" in
        *.gpg) [ -n "$BACKUP_GPG_PRIVATE_KEY_FILE" ] || fail "$label is encrypted: set BACKUP_GPG_PRIVATE_KEY_FILE to the private key" ;;
    esac
    work_dir
    started=$(date +%s)
    source_db=$(source_name) || exit 1
    SCRATCH_DB="restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
    log "restoring $label into the scratch database $SCRATCH_DB"
    # From template0, as pg_restore wants: nothing added to template1 can clash with the dump.
    psql_on "" -c "CREATE DATABASE \"$SCRATCH_DB\" TEMPLATE template0" >/dev/null || {
        SCRATCH_DB=""
        fail "cannot create the scratch database"
    }

    case "$dump" in
        *.gpg)
            gpg --batch --quiet --homedir "$WORK/gnupg" --import "$BACKUP_GPG_PRIVATE_KEY_FILE" 2>"$WORK/import.log" \
                || fail "cannot import the private key from BACKUP_GPG_PRIVATE_KEY_FILE"
            # Streamed into pg_restore: the decrypted dump never touches the disk.
            with_status gpg gpg --batch --quiet --homedir "$WORK/gnupg" --no-tty --decrypt "$dump" |
                with_status restore on_db "$SCRATCH_DB" pg_restore --no-owner --no-privileges --exit-on-error 2>"$WORK/restore.err"
            [ "$(status_of gpg)" = 0 ] || fail "gpg could not decrypt $label with the key given"
            ;;
        -)
            # From standard input: pg_restore reads it itself (given /dev/stdin as a file
            # name it would read the header twice).
            with_status restore on_db "$SCRATCH_DB" pg_restore --no-owner --no-privileges --exit-on-error 2>"$WORK/restore.err"
            ;;
        *)
            with_status restore on_db "$SCRATCH_DB" pg_restore --no-owner --no-privileges --exit-on-error "$dump" 2>"$WORK/restore.err"
            ;;
    esac
    show_errors restore.err
    [ "$(status_of restore)" = 0 ] || fail "pg_restore failed (its message is above)"

    psql_on "" -c "$COUNT_ROWS" >"$WORK/source.raw" || fail "cannot count the source's rows"
    psql_on "$SCRATCH_DB" -c "$COUNT_ROWS" >"$WORK/restored.raw" || fail "cannot count the restored rows"
    # join wants both sorted on the table name alone.
    LC_ALL=C sort -t '|' -k 1,1 "$WORK/source.raw" >"$WORK/source"
    LC_ALL=C sort -t '|' -k 1,1 "$WORK/restored.raw" >"$WORK/restored"
    LC_ALL=C join -t '|' -a 1 -a 2 -e missing -o 0,1.2,2.2 "$WORK/source" "$WORK/restored" >"$WORK/both"
    printf '%-50s %12s %12s\n' "table (source: $source_db)" "source" "restored"
    awk -F '|' '
        { flag = ($2 == $3) ? "" : "  DIFFERS"; if (flag != "") bad++
          printf "%-50s %12s %12s%s\n", $1, $2, $3, flag }
        END { exit bad > 0 }' "$WORK/both"
    same=$?
    tables=$(wc -l <"$WORK/both" | tr -d ' ')
    [ "$tables" -gt 0 ] || fail "the source database has no tables"
    if [ "$same" != 0 ]; then
        fail "$label: the restored row counts differ from $source_db (above)"
    fi
    log "$label restores: $tables tables, every row count equal, in $(($(date +%s) - started)) s"
}

case "${1:-}" in
    once) backup_once ;;
    daily) daily ;;
    check) check_age ;;
    restore-check)
        shift
        restore_check "$@"
        ;;
    *)
        echo "usage: $0 once | daily | check | restore-check [DUMP]" >&2
        exit 2
        ;;
esac
