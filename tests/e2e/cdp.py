"""A small Chrome DevTools Protocol client, Python standard library only,
for the tests that open goprof's flame graphs in Debian's headless
chromium: start the browser, talk to a page over a WebSocket (RFC 6455,
client side: masked frames), call methods, collect events, answer
JavaScript dialogs (the flame graph's search prompt)."""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--mute-audio", "--allow-file-access-from-files"]


class CDPError(Exception):
    pass


class WebSocket:
    def __init__(self, url, timeout=30):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (u.path, u.hostname, u.port, key))
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise CDPError("WebSocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise CDPError("WebSocket handshake refused: %r" % head[:200])

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise CDPError("WebSocket closed by the browser")
            buf += chunk
        return buf

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """The next text message (fragments joined); answers pings."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise CDPError("WebSocket closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Page:
    """One page target: call(method, **params) -> result; events are kept
    in self.events; handlers[method](params) runs on each such event."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []
        self.handlers = {}

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def _dispatch(self, msg):
        self.events.append(msg)
        h = self.handlers.get(msg["method"])
        if h:
            h(msg.get("params", {}))

    def call(self, method, **params):
        want = self.send(method, **params)
        while True:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self._dispatch(msg)
            elif msg.get("id") == want:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["method"] == method:
                    self.events.remove(e)
                    return e.get("params", {})
            if time.monotonic() > deadline:
                raise CDPError("no %s event within %d s" % (method, timeout))
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self._dispatch(msg)

    def evaluate(self, expr):
        """The value of a JavaScript expression (JSON-able)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise CDPError("evaluate %r: %s" % (expr[:80], r["exceptionDetails"]))
        return r["result"].get("value")

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def hover(self, x, y):
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def errors(self):
        """Script exceptions and console/log errors seen so far."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s %s" % (d.get("text"), d.get("exception", {}).get("description", "")))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: %s" % [a.get("value") for a in p.get("args", [])])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
        return out


class Browser:
    """Headless chromium with a fresh profile; pages by open(url)."""

    def __init__(self, tmpdir, exe=CHROMIUM):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=str(tmpdir))
        self.log = open(os.path.join(self.profile, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            [exe] + FLAGS + ["--remote-debugging-port=0", "--user-data-dir=" + self.profile,
                             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 60
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CDPError("chromium did not start: %s" % self.stderr()[-2000:])
            time.sleep(0.05)
        self.port = int(open(port_file).read().split("\n")[0])
        self.pages = []

    def stderr(self):
        try:
            return open(os.path.join(self.profile, "stderr.log")).read()
        except OSError:
            return ""

    def open(self, url, width, height):
        """A new page showing url at this viewport size, with Page, Runtime
        and Log events on; returns once it has loaded."""
        base = "http://127.0.0.1:%d/json" % self.port
        req = urllib.request.Request(base + "/new?about:blank", method="PUT")
        target = json.load(urllib.request.urlopen(req, timeout=30))
        page = Page(WebSocket(target["webSocketDebuggerUrl"]))
        self.pages.append(page)
        for domain in ("Page", "Runtime", "Log"):
            page.call(domain + ".enable")
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=url)
        page.wait_event("Page.loadEventFired")
        return page

    def close(self):
        for p in getattr(self, "pages", []):
            p.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_pixels(data):
    """(width, height, rows of bytes: 3 or 4 per pixel) of an 8-bit,
    non-interlaced RGB or RGBA PNG (what Page.captureScreenshot returns)."""
    import zlib
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and not interlace, "unsupported PNG"
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width * bpp)
    stride = width * bpp + 1
    for y in range(height):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def png_diff(a, b):
    """(pixels that differ, their bounding box (x0, y0, x1, y1) or None)."""
    wa, ha, pa, ra = png_pixels(a)
    wb, hb, pb, rb = png_pixels(b)
    assert (wa, ha, pa) == (wb, hb, pb), "screenshots of different sizes"
    n, box = 0, None
    for y in range(ha):
        if ra[y] == rb[y]:
            continue
        for x in range(wa):
            if ra[y][x * pa:(x + 1) * pa] != rb[y][x * pa:(x + 1) * pa]:
                n += 1
                box = (x, y, x, y) if box is None else (min(box[0], x), min(box[1], y),
                                                        max(box[2], x), max(box[3], y))
    return n, box


if __name__ == "__main__":
    # python3 tests/e2e/cdp.py IMAGE.svg OUT.png: a screenshot of an SVG at
    # its own size (how docs/flame.png is made from make demo's flame graph)
    import pathlib
    import sys
    import xml.etree.ElementTree as ET
    svg, png = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2]
    root = ET.parse(str(svg)).getroot()
    b = Browser(tempfile.gettempdir())
    try:
        page = b.open(svg.as_uri(), int(float(root.get("width"))), int(float(root.get("height"))))
        page.hover(1, 1)
        open(png, "wb").write(page.screenshot())
    finally:
        b.close()
