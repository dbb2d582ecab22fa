"""The self-check page: the form, and the result computed from the POST.

Private by design: the answers live only in this request and the page sent back.
The responses are `no-store` (no browser, proxy or page cache keeps them), the view is
never a public kept page, logs and error reports see no POST value, and the POST needs
no cookie: it changes nothing on the server, so it is exempt from CSRF (a forged post
could only show someone a result page in their own browser).
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from consultations.self_check import phq9
from consultations.self_check.forms import SelfCheckForm
from consultations.self_check.models import ScreenQuestion
from consultations.self_check.sharing import share_token_make
from education.models import Article

# The evidence article that covers the other treatments (see the content brief).
ALTERNATIVES_ARTICLE_SLUG = "will-it-work-what-the-research-shows"

# What each band means, in the clinic's own words (the band names are the instrument's).
BAND_MEANING = {
    "minimal": "Your answers show few or no signs of depression over the last two weeks.",
    "mild": "Your answers show some signs of depression over the last two weeks.",
    "moderate": "Your answers show a fair number of signs of depression over the last "
    "two weeks. This is the range where doctors usually suggest a full check.",
    "moderately_severe": "Your answers show many signs of depression over the last two "
    "weeks. It is worth talking with a doctor soon.",
    "severe": "Your answers show a lot of signs of depression over the last two weeks. "
    "Please talk with a doctor soon. You deserve help with this.",
}


@never_cache
@csrf_exempt
@sensitive_post_parameters()
@require_http_methods(["GET", "HEAD", "POST"])
def self_check(request):
    questions = ScreenQuestion.objects.for_self_check()
    form = SelfCheckForm(request.POST if request.method == "POST" else None, questions=questions)
    if not form.is_bound or not form.is_valid():
        context = {"form": form, "phq9": phq9, "crisis": form.self_harm_thoughts()}
        return render(request, "consultations/self_check/form.html", context)

    answers = form.answers()
    rows = answers.screen_rows(questions)
    context = {
        "answers": answers,
        "band": answers.band,
        "band_meaning": BAND_MEANING[answers.band.code],
        "crisis": answers.self_harm_thoughts,
        "attention_rows": [row for row in rows if row.needs_attention],
        "ruled_out": any(row.rules_out for row in rows),
        "not_tried_two": answers.screen.get("antidepressants") == "no",
        "share_token": share_token_make(answers),
        "alternatives_article": Article.objects.published()
        .filter(slug=ALTERNATIVES_ARTICLE_SLUG)
        .first(),
        "phq9": phq9,
    }
    return render(request, "consultations/self_check/result.html", context)
