"""The screen's questions as the clinic ships them, in its own words, drawn from the
candidacy facts in the content brief. Each: (key, question, the answer that needs a
clinician, whether that answer usually rules ketamine out, the explanation).

`rules_out` marks the firm reasons only: the clinic's adults-only rule and the esketamine
label's contraindications (aneurysmal vascular disease or arteriovenous malformation,
bleeding in the brain). Everything else is a caution the consultation weighs.
Staff may reword the question and the explanation in the admin; installing the defaults
never overwrites their wording.
"""

DEFAULT_QUESTIONS = [
    (
        "adult",
        "Are you 18 or older?",
        "no",
        True,
        "The clinic treats adults only. If you are under 18, please talk with your own "
        "doctor, or with a parent or guardian, about other care.",
    ),
    (
        "antidepressants",
        "Have you tried at least two antidepressant medicines, each for several weeks, "
        "during this time of depression?",
        "no",
        False,
        "Ketamine is usually for depression that has not eased enough after two or more "
        "antidepressants, each taken long enough at a full dose. Your own doctor may "
        "suggest other treatments first.",
    ),
    (
        "psychosis_mania",
        "Have you ever had psychosis (such as hearing or seeing things other people do "
        "not), schizophrenia, or mania?",
        "yes",
        False,
        "Ketamine can make these conditions worse, so the clinician needs to know more "
        "before deciding. It may not be the right choice for you.",
    ),
    (
        "blood_pressure",
        "Do you have high blood pressure that is not under control right now?",
        "yes",
        False,
        "Ketamine raises blood pressure for a short time during a session. High blood "
        "pressure that is not under control needs treatment first.",
    ),
    (
        "aneurysm_bleed",
        "Have you ever had an aneurysm (a bulge in a blood vessel), bleeding in the brain, "
        "or a tangle of blood vessels in the brain (called an AVM)?",
        "yes",
        True,
        "These are firm reasons not to give ketamine or esketamine, because blood "
        "pressure goes up for a short time during a session.",
    ),
    (
        "heart_stroke",
        "Do you have heart disease or another blood vessel disease, or have you had a stroke?",
        "yes",
        False,
        "The clinician will need to check your heart and blood vessels first, and may want "
        "to talk with your heart doctor.",
    ),
    (
        "pregnancy",
        "Are you pregnant, could you be pregnant, or are you breastfeeding?",
        "yes",
        False,
        "Ketamine is usually not given during pregnancy or while breastfeeding. The "
        "clinician can talk with you about safer options.",
    ),
    (
        "substance_use",
        "Do you misuse alcohol or drugs now, or have you ever misused ketamine?",
        "yes",
        False,
        "Ketamine can be misused. The clinician will talk this through with you openly, "
        "without judging, to keep treatment safe. It may change which treatment fits best.",
    ),
    (
        "bad_reaction",
        "Have you ever had a bad reaction to ketamine or esketamine, such as an allergic reaction?",
        "yes",
        False,
        "The clinician will ask what happened. An allergy to ketamine or esketamine is a "
        "firm reason not to have it again.",
    ),
]


def screen_questions_missing(model) -> list:
    """Unsaved `model` rows for the default questions whose key is not in the table."""
    present = set(model.objects.values_list("key", flat=True))
    return [
        model(
            key=key,
            position=position,
            text=text,
            concern_answer=concern,
            rules_out=rules_out,
            explanation=explanation,
        )
        for position, (key, text, concern, rules_out, explanation) in enumerate(DEFAULT_QUESTIONS)
        if key not in present
    ]
