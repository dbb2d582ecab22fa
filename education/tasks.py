"""Background tasks (django-tasks): the review hand-off's emails go out after each step."""

import logging

from django_tasks import task

from education.models import ReviewStep
from education.notifications import review_step_message

logger = logging.getLogger(__name__)


@task()
def send_review_step_email(step_id: int) -> int:
    """Email the other role about one hand-off step; return how many were told."""
    step = ReviewStep.objects.select_related("article", "by").filter(pk=step_id).first()
    message = review_step_message(step) if step is not None else None
    if message is None:
        return 0
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - the step is saved; a lost email is logged
        logger.warning("review email for step %s failed: %s", step_id, type(error).__name__)
        return 0
    return len(message.to)
