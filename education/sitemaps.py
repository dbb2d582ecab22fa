"""sitemap.xml: current published articles, topics, reading paths and the fixed pages.

Articles past their next review date leave the sitemap until they are reviewed.
"""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from education.models import Article, ReadingPath, Topic


class ArticleSitemap(Sitemap):
    def items(self):
        return Article.objects.published().current().order_by("pk")

    def lastmod(self, item: Article):
        return item.updated_at


class TopicSitemap(Sitemap):
    def items(self):
        return Topic.objects.all()


class ReadingPathSitemap(Sitemap):
    def items(self):
        return ReadingPath.objects.all()


class FixedPageSitemap(Sitemap):
    def items(self):
        return [
            "home",
            "education:article_list",
            "education:glossary",
            "education:planner",
            "education:integration_support",
        ]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS = {
    "pages": FixedPageSitemap,
    "topics": TopicSitemap,
    "paths": ReadingPathSitemap,
    "articles": ArticleSitemap,
}
