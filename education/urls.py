from django.contrib.sitemaps.views import sitemap
from django.urls import path

from education import views
from education.feeds import ArticleFeed
from education.sitemaps import SITEMAPS

app_name = "education"

urlpatterns = [
    path("articles/", views.ArticleListView.as_view(), name="article_list"),
    path("articles/<slug:slug>/", views.article_detail, name="article_detail"),
    path("topics/<slug:slug>/", views.TopicDetailView.as_view(), name="topic_detail"),
    path("glossary/", views.glossary, name="glossary"),
    path("search/", views.search, name="search"),
    path("feed/", ArticleFeed(), name="feed"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
