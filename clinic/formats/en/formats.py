"""How the site writes dates: US conventions, "Wednesday, December 2" and "June 1, 2026".

The one place for date formats. Templates use `|date` (DATE_FORMAT) and
`|date:"DATETIME_FORMAT"`; `consultations.formatting` writes a day in the coming weeks
with MONTH_DAY_FORMAT. Django's own English formats fill in everything not set here.
"""

# A date with its year, in a sentence or an admin column: "June 1, 2026".
DATE_FORMAT = "F j, Y"
DATETIME_FORMAT = "F j, Y, g:i a T"
# A day in the coming weeks, where the year goes without saying: "Wednesday, December 2".
MONTH_DAY_FORMAT = "l, F j"
