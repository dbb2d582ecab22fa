"""The PHQ-9, exactly as its authors publish it, and its scoring.

The wording of the instructions, the nine items, the four answer options and the
difficulty question below must never be edited: a reworded PHQ-9 is no longer the
validated instrument. Source: the form at https://www.phqscreeners.com/ and
Kroenke K, Spitzer RL, Williams JB. The PHQ-9: validity of a brief depression severity
measure. J Gen Intern Med. 2001;16(9):606-613. doi:10.1046/j.1525-1497.2001.016009606.x
"""

from dataclasses import dataclass

INSTRUCTIONS = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)
ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite "
    "\u2014 being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
# Points for each answer, as the instrument scores them.
OPTIONS = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)
DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)
DIFFICULTY_OPTIONS = (
    ("not", "Not difficult at all"),
    ("somewhat", "Somewhat difficult"),
    ("very", "Very difficult"),
    ("extremely", "Extremely difficult"),
)
ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
CITATION = (
    "Kroenke K, Spitzer RL, Williams JB. The PHQ-9: validity of a brief depression severity "
    "measure. J Gen Intern Med. 2001;16(9):606-613."
)
CITATION_DOI = "10.1046/j.1525-1497.2001.016009606.x"

# Item 9 asks about thoughts of self-harm; any answer above "not at all" opens the
# crisis panel and flags a shared request for a same-day call back.
SELF_HARM_ITEM = 9
MAX_SCORE = 3 * len(ITEMS)


@dataclass(frozen=True)
class Band:
    code: str
    lowest: int
    highest: int
    label: str  # the instrument's own severity name


# Kroenke et al. 2001: scores of 5, 10, 15 and 20 mark mild, moderate, moderately
# severe and severe depression; the PHQ-9 scoring guide calls 0-4 none-minimal.
BANDS = (
    Band("minimal", 0, 4, "None or minimal"),
    Band("mild", 5, 9, "Mild"),
    Band("moderate", 10, 14, "Moderate"),
    Band("moderately_severe", 15, 19, "Moderately severe"),
    Band("severe", 20, 27, "Severe"),
)


def score(answers: tuple[int, ...] | list[int]) -> int:
    """The total of the nine items' points (0-27)."""
    if len(answers) != len(ITEMS) or any(a not in (0, 1, 2, 3) for a in answers):
        raise ValueError("the PHQ-9 needs nine answers, each 0 to 3")
    return sum(answers)


def band(total: int) -> Band:
    for candidate in BANDS:
        if candidate.lowest <= total <= candidate.highest:
            return candidate
    raise ValueError(f"a PHQ-9 total is 0 to {MAX_SCORE}, not {total}")


def self_harm_thoughts(answers: tuple[int, ...] | list[int]) -> bool:
    """True when item 9 was answered above "not at all"."""
    return answers[SELF_HARM_ITEM - 1] > 0
