"""fetch_server.py - a small HTTP server on 127.0.0.1 for tests/test_fetch.c.

usage: fetch_server.py DIR

Serves one payload (100,000 deterministic bytes, also written to DIR/payload.bin) under paths
that misbehave on purpose, writes its port to DIR/port (atomically, once it listens) and appends
one line per request to DIR/requests.log ("<path> <Range header or ->"). Paths:
  /file.bin      the payload; answers Range requests (206, Content-Range)
  /cut.bin       the first request without Range sends the headers of the whole file and half
                 the bytes, then closes; Range requests are answered like /file.bin
  /norange.bin   ignores Range (always 200 with the whole payload)
  /stall.bin     sends the headers and 1,000 bytes, then nothing for 60 s
  /redirect.bin  302 to /file.bin
  anything else  404
Runs until killed.
"""
import http.server
import os
import socketserver
import sys
import time

DIR = sys.argv[1]
PAYLOAD = bytes((i * 7 + (i >> 8) * 13) & 0xFF for i in range(100000))
with open(os.path.join(DIR, "payload.bin"), "wb") as f:
    f.write(PAYLOAD)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_whole(self, n_send=None):
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD if n_send is None else PAYLOAD[:n_send])
        self.wfile.flush()

    def send_range(self, spec):
        start = int(spec.split("=")[1].split("-")[0])
        if start >= len(PAYLOAD):
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(PAYLOAD))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = PAYLOAD[start:]
        self.send_response(206)
        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(PAYLOAD) - 1, len(PAYLOAD)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        rng = self.headers.get("Range")
        with open(os.path.join(DIR, "requests.log"), "a") as log:
            log.write("%s %s\n" % (self.path, rng or "-"))
        if self.path == "/file.bin":
            return self.send_range(rng) if rng else self.send_whole()
        if self.path == "/cut.bin":
            if rng:
                return self.send_range(rng)
            self.send_whole(len(PAYLOAD) // 2)
            self.close_connection = True
            return
        if self.path == "/norange.bin":
            return self.send_whole()
        if self.path == "/stall.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:1000])
            self.wfile.flush()
            time.sleep(60)
            return
        if self.path == "/redirect.bin":
            self.send_response(302)
            self.send_header("Location", "/file.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the stall test) is expected


srv = Server(("127.0.0.1", 0), Handler)
tmp = os.path.join(DIR, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, os.path.join(DIR, "port"))
srv.serve_forever()
