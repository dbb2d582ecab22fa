"""Public pages for reading articles.

These views are public pages, kept and shared (clinic/page_cache.py): they carry no CSRF
forms, and using the session or the signed-in user raises `PublicPageUsedSession`. Only
live articles are shown here; staff preview drafts in the admin
(`ArticleAdmin.preview_view`), which renders the same page through `article_page`. Each
list runs a fixed number of queries however many articles it shows.
"""

import re
from urllib.parse import urlencode

from django.core.files.storage import default_storage
from django.core.validators import slug_re
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from django.views.generic import DetailView, ListView

from clinic.kept_frame import render_in_kept_frame
from clinic.models import ClinicDetails
from consultations.formatting import format_day
from consultations.us_states import US_STATES
from education import planner as series_planner
from education import structured_data
from education.forms import PlannerForm
from education.models import (
    Article,
    GlossaryTerm,
    NetworkTherapist,
    PlannerItem,
    ReadingPath,
    Topic,
)
from education.search import article_search, clean_query, no_results_help
from education.structured_data import breadcrumb_trail

ARTICLES_PER_PAGE = 10
HOME_ARTICLES_PER_TOPIC = 3
RENDITION_NAME = re.compile(r"[a-z0-9-]+-[0-9a-f]{12}-[0-9]+\.(webp|jpg)")
RENDITION_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}


def _canonical(request, path: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value})
    return request.build_absolute_uri(f"{path}?{query}" if query else path)


def _topics_with_articles():
    """Each topic with its newest few live articles (`live`) and how many it has in all
    (`live_count`): the home page stays the same size however many articles there are."""
    live = Article.objects.published().select_related("topic")
    newest = live.order_by("-first_published_at", "title")[:HOME_ARTICLES_PER_TOPIC]
    count = live.filter(topic=OuterRef("pk")).order_by().values("topic").annotate(n=Count("pk"))
    return Topic.objects.annotate(
        live_count=Coalesce(Subquery(count.values("n")), 0)
    ).prefetch_related(Prefetch("articles", queryset=newest, to_attr="live"))


@require_safe
def home(request):
    return render(
        request,
        "home.html",
        {
            "topics": [topic for topic in _topics_with_articles() if topic.live],
            "paths": [path for path in ReadingPath.objects.with_live_steps() if path.articles],
            "canonical_url": _canonical(request, reverse("home")),
        },
    )


class ArticleListView(ListView):
    template_name = "education/article_list.html"
    context_object_name = "articles"
    paginate_by = ARTICLES_PER_PAGE
    http_method_names = ["get", "head"]

    def get_queryset(self):
        articles = Article.objects.published().for_listing().order_by("topic__order", "title")
        self.topic = None
        if slug := self.request.GET.get("topic"):
            if not slug_re.fullmatch(slug):  # e.g. a NUL, which PostgreSQL refuses
                raise Http404("No such topic")
            self.topic = get_object_or_404(Topic, slug=slug)
            articles = articles.filter(topic=self.topic)
        return articles

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"].number
        trail = [("Articles", reverse("education:article_list"))]
        if self.topic:
            trail.append((self.topic.name, f"{trail[0][1]}?topic={self.topic.slug}"))
        context |= {
            "topic": self.topic,
            "topics": Topic.objects.all(),
            "canonical_url": _canonical(
                self.request,
                reverse("education:article_list"),
                topic=self.topic.slug if self.topic else "",
                page=page if page > 1 else "",
            ),
            "topic_query": urlencode({"topic": self.topic.slug}) + "&" if self.topic else "",
            "breadcrumbs": breadcrumb_trail(*trail),
        }
        return context


class TopicDetailView(DetailView):
    model = Topic
    template_name = "education/topic_detail.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        articles = Article.objects.published().for_listing().filter(topic=self.object)
        context |= {
            # The first page's worth; the article list pages through the rest.
            "articles": articles.order_by("title")[:ARTICLES_PER_PAGE],
            "article_count": articles.count(),
            "canonical_url": _canonical(self.request, self.object.get_absolute_url()),
            "breadcrumbs": breadcrumb_trail(
                ("Articles", reverse("education:article_list")),
                (self.object.name, self.object.get_absolute_url()),
            ),
        }
        return context


@require_safe
def article_detail(request, slug: str):
    article = with_page_parts(Article.objects.published()).filter(slug=slug).first()
    if article is None:
        renamed = Article.objects.published().filter(redirects__old_slug=slug).first()
        if renamed is None:
            raise Http404("No article found")
        return HttpResponsePermanentRedirect(renamed.get_absolute_url())
    return article_page(request, article, preview=False)


def with_page_parts(articles):
    """What an article's page shows besides the article itself, fetched in one go each."""
    related = Article.objects.published().select_related("topic").order_by("title")
    return articles.for_listing().prefetch_related(
        "faqs", "references", Prefetch("related", queryset=related)
    )


def article_page(request, article: Article, *, preview: bool):
    """The article's page; with `preview`, labelled for staff and never kept by a cache."""
    response = render(
        request,
        "education/article_detail.html",
        {
            "article": article,
            "preview": preview,
            "breadcrumbs": structured_data.article_breadcrumb_trail(article),
            "path_positions": [
                position
                for path in ReadingPath.objects.with_live_steps().filter(steps__article=article)
                if (position := path.position_of(article))
            ],
            "json_ld": structured_data.article_documents(
                request, article, ClinicDetails.objects.cached().name
            ),
            "canonical_url": _canonical(request, article.get_absolute_url()),
        },
    )
    if preview:
        patch_cache_control(response, private=True, no_store=True)
    return response


class ReadingPathDetailView(DetailView):
    template_name = "education/path_detail.html"
    http_method_names = ["get", "head"]
    context_object_name = "path"

    def get_queryset(self):
        return ReadingPath.objects.with_live_steps()

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {
            "canonical_url": _canonical(self.request, self.object.get_absolute_url()),
            "breadcrumbs": breadcrumb_trail((self.object.title, self.object.get_absolute_url())),
        }


@require_safe
def integration_support(request):
    """The clinic's referral network of therapists, optionally for one state."""
    state = request.GET.get("state", "")
    if state not in dict(US_STATES):
        state = ""
    return render(
        request,
        "education/integration_support.html",
        {
            "therapists": NetworkTherapist.objects.listed(state),
            "state": state,
            "states": US_STATES,
            "canonical_url": _canonical(
                request, reverse("education:integration_support"), state=state
            ),
        },
    )


@require_safe
def glossary(request):
    return render(
        request,
        "education/glossary.html",
        {
            "terms": GlossaryTerm.objects.all(),
            "canonical_url": _canonical(request, reverse("education:glossary")),
            "breadcrumbs": breadcrumb_trail(("Glossary", reverse("education:glossary"))),
        },
    )


@require_safe
def search(request):
    query = clean_query(request.GET.get("q", ""))
    results = article_search(query=query)
    return render_in_kept_frame(
        request,
        "education/search.html",
        {
            "query": query,
            "results": results,
            "help": None if results else no_results_help(query=query),
        },
        blocks=("title", "content"),
        frame_context=lambda: {"canonical_url": _canonical(request, reverse("education:search"))},
    )


@require_safe
def robots_txt(request):
    sitemap_url = request.build_absolute_uri(reverse("education:sitemap"))
    lines = ["User-agent: *", "Disallow: /search/", "", f"Sitemap: {sitemap_url}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


# No CSRF token: the planner stores and changes nothing, so a forged POST gains nothing,
# and its page then needs no cookie and can be kept like other public pages.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def planner(request):
    """The integration planner. Dates and choices come only by POST and are never stored;
    the plan and the .ics are computed from that POST and sent `no-store`."""
    if request.method != "POST":
        return render(
            request,
            "education/planner.html",
            {
                "form": PlannerForm(),
                "canonical_url": _canonical(request, reverse("education:planner")),
            },
        )
    form = PlannerForm(request.POST)
    # "Change my answers" shows the form again, filled in from the plan's own values.
    if not form.is_valid() or "edit" in request.POST:
        response = render(request, "education/planner.html", {"form": form})
        add_never_cache_headers(response)
        return response
    data = form.cleaned_data
    sessions = series_planner.series_dates(
        first=data["first_date"], pattern=data["pattern"], own_dates=form.own_dates()
    )
    plan = series_planner.plan_build(
        sessions=sessions,
        supports=list(data["supports"]),
        treatment_items=list(data["treatment_items"]),
        weekdays=set(data["weekdays"]),
        prompts=list(PlannerItem.objects.active().filter(kind=PlannerItem.Kind.PROMPT)),
    )
    if "download" in request.POST:
        response = HttpResponse(
            series_planner.plan_ics(plan), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="plan.ics"'
    else:
        response = render(
            request,
            "education/planner_plan.html",
            {
                "plan": plan,
                "sessions": sessions,
                "last_session_label": format_day(sessions[-1]),
                "hidden": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name in form.fields
                    for value in values
                ],
            },
        )
    add_never_cache_headers(response)
    return response


@require_safe
def article_image_file(request, name: str):
    """One rendition of an uploaded article image, from media storage (a volume in
    compose). The name holds the content's digest, so browsers may keep it for a year."""
    match = RENDITION_NAME.fullmatch(name)
    path = f"article-images/{name}"
    if match is None or not default_storage.exists(path):
        raise Http404("No such image")
    response = FileResponse(
        default_storage.open(path), content_type=RENDITION_TYPES[match.group(1)]
    )
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
