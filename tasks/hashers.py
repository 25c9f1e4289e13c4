"""Password hashing that yields the CPU to the API: Django's PBKDF2 at a lower scheduling priority.

A login hashes its password for about 0.4 s of CPU inside a sync worker that also serves the API
(in another process). On a busy machine that hash competes for the cores with the API's requests;
run at nice 10, it gets the CPU the API leaves idle, and it still finishes in seconds when the
machine is saturated (nice 19 could stretch it past gunicorn's timeout).
"""

import os
import threading

from django.contrib.auth.hashers import PBKDF2PasswordHasher

HASHING_NICENESS = 10


class LowPriorityPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's `pbkdf2_sha256`, computed in a short-lived thread at nice 10 (Linux; elsewhere as usual).

    The algorithm name is Django's own: stored hashes verify unchanged. A thread, because a thread
    may lower its own priority but not raise it again, and this one ends with the hash.
    """

    def encode(self, password, salt, iterations=None):
        outcome = {}

        def hash_at_low_priority():
            lower_this_threads_priority()
            try:
                outcome["hash"] = PBKDF2PasswordHasher.encode(self, password, salt, iterations)
            except Exception as e:  # re-raised in the caller's thread
                outcome["error"] = e

        thread = threading.Thread(target=hash_at_low_priority, name="password-hash")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["hash"]


def lower_this_threads_priority():
    """On Linux the nice value belongs to each thread, addressed by its native id."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
    except (AttributeError, OSError):
        pass
