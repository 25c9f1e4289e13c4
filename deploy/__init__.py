"""What the Procfile runs in production: nginx in front of gunicorn (see web.py)."""
