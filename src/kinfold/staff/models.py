"""Staff users and their roles."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A member of staff (council or partner)."""
