"""Values every template needs: the clinic's details."""

from clinic.models import ClinicDetails


def clinic(request):
    return {"clinic": ClinicDetails.objects.cached()}
