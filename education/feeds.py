"""Atom feed of published articles."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from clinic.models import ClinicDetails
from education.models import Article
from education.rendering import CONTROL_CHARACTERS

FEED_SIZE = 20


class ArticleFeed(Feed):
    feed_type = Atom1Feed

    def title(self):
        return f"Articles – {ClinicDetails.objects.cached().name}"

    def subtitle(self):
        return "Plain-language articles about ketamine treatment for depression."

    def link(self):
        return reverse("education:article_list")

    def items(self):
        return Article.objects.published().for_listing().order_by("-publish_at")[:FEED_SIZE]

    # XML cannot hold control characters: text saved before the admin refused them (or
    # written another way) must not break the feed for every reader.
    def item_title(self, item: Article) -> str:
        return CONTROL_CHARACTERS.sub("", item.title)

    def item_description(self, item: Article) -> str:
        return CONTROL_CHARACTERS.sub("", item.summary)

    def item_pubdate(self, item: Article):
        return item.publish_at

    def item_updateddate(self, item: Article):
        return item.updated_at

    def item_author_name(self, item: Article) -> str:
        return CONTROL_CHARACTERS.sub("", str(item.author))

    def item_categories(self, item: Article):
        return [CONTROL_CHARACTERS.sub("", item.topic.name)]
