from django.contrib.sitemaps.views import sitemap
from django.urls import path

from clinic.page_cache import public_page
from education import views
from education.feeds import ArticleFeed
from education.sitemaps import SITEMAPS

app_name = "education"

urlpatterns = [
    path("articles/", public_page(views.ArticleListView.as_view()), name="article_list"),
    path("articles/<slug:slug>/", public_page(views.article_detail), name="article_detail"),
    path("topics/<slug:slug>/", public_page(views.TopicDetailView.as_view()), name="topic_detail"),
    path("glossary/", public_page(views.glossary), name="glossary"),
    path(
        "paths/<slug:slug>/",
        public_page(views.ReadingPathDetailView.as_view()),
        name="path_detail",
    ),
    path("planner/", public_page(views.planner), name="planner"),
    path(
        "integration-support/",
        public_page(views.integration_support),
        name="integration_support",
    ),
    path("search/", public_page(views.search), name="search"),
    # Uploaded article images (their names hold the content's digest, so never change).
    path("media/article-images/<str:name>", views.article_image_file, name="article_image"),
    path("feed/", public_page(ArticleFeed()), name="feed"),
    path("sitemap.xml", public_page(sitemap), {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", public_page(views.robots_txt), name="robots_txt"),
]
