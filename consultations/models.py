"""consultations app."""
