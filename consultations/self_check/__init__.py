"""The private self-check before booking: the PHQ-9 and "could ketamine fit me?".

Nothing is stored unless the patient chooses to share their answers when they book.
The booking flow uses only `sharing.read_shared_answers` (the signed answers it was
handed) and `services.shared_self_check_save` (in the booking's own transaction); the
admin and the staff email use `services.needs_call_back_today`.
"""
