"""Booking submissions for `make bench`: placeholder until the booking flow exists."""


def run(base):
    return None
