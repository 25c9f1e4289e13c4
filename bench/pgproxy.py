"""A TCP proxy on 127.0.0.1 in front of PostgreSQL: it adds a fixed delay each way and counts round trips.

The benchmark's remote-database mode puts it between each app and PostgreSQL with 1 ms each way,
as a database a network hop away would be; the round-trip tests run it without a delay, to count.
A round trip is a turn of the conversation: the client sends, after having heard from the server
since it last sent. A statement in autocommit mode is one; so is `BEGIN`, and each step of a new
connection's start-up.

Hand-written rather than `tc netem` on a veth pair: the shared PostgreSQL listens on 127.0.0.1
only, which a second network namespace cannot reach without a forwarder like this one anyway;
and this one also counts. Each direction of a connection has a reader thread, which stamps
every chunk with when it may leave, and (with a delay) a writer thread, which holds it until then.

    with DelayingProxy("127.0.0.1", 5432, delay_seconds=0.001) as proxy:
        url = proxy.url_for("postgres://postgres@127.0.0.1:5432/app")
        ...
        proxy.round_trips
"""

import queue
import socket
import threading
import time
import urllib.parse

CHUNK = 65536


class DelayingProxy:
    """Forwards 127.0.0.1:<port> to `host:port`, `delay_seconds` later in each direction."""

    def __init__(self, host, port, delay_seconds=0.0):
        self.target = (host, port)
        self.delay = delay_seconds
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.round_trips = 0
        self.connections = []
        self.running = True
        self.acceptor = threading.Thread(target=self.accept, daemon=True)

    def url_for(self, database_url):
        """The same database URL, reaching its server through this proxy."""
        url = urllib.parse.urlsplit(database_url)
        credentials = url.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urllib.parse.urlunsplit(url._replace(netloc=netloc))

    def accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for each in (client, server):
                each.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections.append(Conversation(self, client, server))

    def count_round_trip(self):
        with self.lock:
            self.round_trips += 1

    def close(self):
        self.running = False
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for conversation in self.connections:
            conversation.close()

    def __enter__(self):
        self.acceptor.start()
        return self

    def __exit__(self, *exc):
        self.close()


class Conversation:
    """One proxied connection: two directions, and whose turn it is."""

    def __init__(self, proxy, client, server):
        self.proxy = proxy
        self.sockets = (client, server)
        self.server_spoke = True  # so that the client's first message counts
        self.pipes = [Pipe(self, client, server, from_client=True), Pipe(self, server, client, from_client=False)]

    def heard(self, from_client):
        if from_client and self.server_spoke:
            self.proxy.count_round_trip()
        self.server_spoke = not from_client

    def close(self):
        # shutdown() first: close() alone neither wakes the other pipe's thread blocked in recv()
        # nor lets the socket go, and PostgreSQL would keep the session open.
        for each in self.sockets:
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            each.close()


class Pipe:
    """One direction: read chunks as they come, send each on `delay` after it arrived."""

    def __init__(self, conversation, source, sink, *, from_client):
        self.conversation, self.source, self.sink, self.from_client = conversation, source, sink, from_client
        self.delay = conversation.proxy.delay
        self.outbox = queue.SimpleQueue()
        threading.Thread(target=self.read, daemon=True).start()
        if self.delay:
            threading.Thread(target=self.write, daemon=True).start()

    def read(self):
        while True:
            try:
                data = self.source.recv(CHUNK)
            except OSError:
                data = b""
            if data:
                self.conversation.heard(self.from_client)
            if self.delay:
                self.outbox.put((time.monotonic() + self.delay, data))
            elif not self.forward(data):
                return
            if not data:
                return

    def write(self):
        while True:
            due, data = self.outbox.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not self.forward(data):
                return

    def forward(self, data):
        """Sends `data` on; an empty chunk (end of stream) ends both directions. False when done."""
        try:
            if data:
                self.sink.sendall(data)
                return True
        except OSError:
            pass
        self.conversation.close()
        return False
