"""A Streamlit client without a browser: one student's session, spoken in Streamlit's own protocol.

The browser's frontend talks to the server over one websocket, ``/_stcore/stream``: it sends
protobuf ``BackMsg``s (``rerun_script`` carries the page, the query string and the widget
states) and receives ``ForwardMsg``s (``new_session``, ``navigation``, the ``delta``s that draw
the page, and ``script_finished``). This module does the same, so a benchmark can be a class of
students and a test can load a page through a proxy, with no browser in the loop:

    async with StreamSession("http://127.0.0.1:8501", page="network") as student:
        run = await student.rerun()                  # the page as a fresh visit draws it
        lr = student.widget("opt2_lr")               # a widget, by its key, from the deltas
        run = await student.rerun([string_array_state(lr.id, ["0.2"])])

Like the browser it first loads the page's HTML over HTTP (a load balancer's sticky cookie is set
there and sent with the websocket), follows the page the server navigated to and the query string
the page wrote, and tells the server which large messages it holds already
(``cached_message_hashes``), so unchanged charts come back as references.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM_PATH = "/_stcore/stream"
REPLICA_HEADER = "X-Optiscape-Replica"  # set by `optiscape serve --workers N`'s proxy
STREAMLIT_COOKIES = "_streamlit"  # the prefix of Streamlit's own cookies (XSRF, login)
# elements that draw a chart: the first of them is "the first chart" of a page
CHART_ELEMENTS = frozenset(
    {"bidi_component", "plotly_chart", "vega_lite_chart", "deck_gl_json_chart", "imgs"}
)
FINISHED_STATUS = {value: name for name, value in ForwardMsg.ScriptFinishedStatus.items()}


@dataclass(frozen=True)
class Widget:
    """A widget (or a keyed container, such as an expander) the server drew."""

    id: str
    kind: str  # the element's type: "slider", "selectbox", "bidi_component", "expandable", ...
    label: str
    options: tuple[str, ...] = ()
    value: tuple[str, ...] = ()  # a slider's value as drawn: its options' text, or numbers

    @property
    def key(self) -> str | None:
        """The user key the app gave it (``$$ID-<hash>-<key>``), or None."""
        parts = self.id.split("-", 2)
        return parts[2] if self.id.startswith("$$ID-") and len(parts) == 3 else None


@dataclass
class Run:
    """One script run as the client saw it: from the request to ``script_finished``."""

    seconds: float = float("nan")  # request sent (or ``since``) to script_finished
    first_chart: float | None = None  # to the first chart's delta
    messages: int = 0
    received_bytes: int = 0
    status: str = ""  # FINISHED_SUCCESSFULLY, ... or what went wrong
    exceptions: list[str] = field(default_factory=list)  # st.exception elements drawn

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED_SUCCESSFULLY" and not self.exceptions

    @property
    def error(self) -> str | None:
        """None for a clean run, else a one-line reason."""
        if self.exceptions:
            return f"exception: {self.exceptions[0]}"
        return None if self.ok else self.status


class StreamError(RuntimeError):
    """The server closed the session, never answered, or broke the protocol."""


def slider_value(slider: Any) -> tuple[str, ...]:
    """A slider element's value as drawn: the page's value when it set one (a select_slider
    carries it as ``raw_value`` text), else its default; options' text for a select_slider."""
    if slider.set_value and slider.raw_value:
        return tuple(slider.raw_value)
    numbers = slider.value if slider.set_value else slider.default
    if slider.options:
        return tuple(slider.options[int(i)] for i in numbers if 0 <= int(i) < len(slider.options))
    return tuple(f"{v:g}" for v in numbers)


def bool_state(widget_id: str, value: bool) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.bool_value = value
    return state


def string_array_state(widget_id: str, values: Iterable[str]) -> WidgetState:
    """A select_slider's or multiselect's value: its options' formatted strings."""
    state = WidgetState(id=widget_id)
    state.string_array_value.data.extend(values)
    return state


def json_state(widget_id: str, text: str) -> WidgetState:
    """A custom component's state (``setStateValue``): the JSON of its whole state dict."""
    state = WidgetState(id=widget_id)
    state.json_value = text
    return state


def http_get(url: str, cookie: str | None, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` (with ``cookie``): status, headers (names lower-cased) and body."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        cookies = response.headers.get_all("Set-Cookie") or []
        if cookies:
            headers["set-cookie"] = "\n".join(cookies)
        return response.status, headers, response.read()


class StreamSession:
    """One browser tab's session with a Streamlit app at ``base_url`` (``http://host:port``).

    ``page`` is the page's URL path ("" for the default page, "network", ...), ``query`` the link's
    query string without ``?``. ``cookie`` is sent with every request; when None, the cookies the
    page's HTML set (a load balancer's sticky cookie) are used, as a browser does. ``resume`` is
    the id of a session to reconnect to (the server keeps a dropped one for a while,
    ``server.disconnectedSessionTTL``); a server that does not hold it starts a new one."""

    def __init__(
        self,
        base_url: str,
        page: str = "",
        query: str = "",
        cookie: str | None = None,
        timeout: float = 300.0,
        resume: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page = page.strip("/")
        self.query = query.lstrip("?")
        self.cookie = cookie
        self.timeout = timeout
        self.page_script_hash = ""
        self.resume = resume  # a session id to reconnect to, as the browser does after a drop
        self.session_id: str | None = None  # the server's id of this session (new_session)
        self.replica: str | None = None  # the proxy's name for the replica that answered
        self.widgets: dict[str, Widget] = {}
        self._states: dict[str, WidgetState] = {}
        self._cached: dict[str, str] = {}  # hash of a cacheable message -> its element type
        self._ws: Any = None

    async def __aenter__(self) -> StreamSession:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Load the page's HTML (as a browser does first; a sticky cookie is set there), then open
        the websocket with that cookie."""
        url = f"{self.base_url}/{self.page}" + (f"?{self.query}" if self.query else "")
        status, headers, _ = await asyncio.to_thread(http_get, url, self.cookie, self.timeout)
        if status != 200:
            raise StreamError(f"GET {url}: HTTP {status}")
        if self.cookie is None and "set-cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            for line in headers["set-cookie"].splitlines():
                jar.load(line)
            self.cookie = "; ".join(f"{k}={m.value}" for k, m in jar.items()) or None
        self.replica = headers.get(REPLICA_HEADER.lower(), self.replica)
        ws_url = "ws" + self.base_url.removeprefix("http") + STREAM_PATH
        # the subprotocol header carries [protocol, XSRF token, session to resume]
        protocols = ["streamlit", "none", self.resume] if self.resume else ["streamlit"]
        self._ws = await websockets.connect(
            ws_url,
            subprotocols=protocols,
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,  # a busy client must not close the session for a late pong
            proxy=None,
        )
        replica = self._ws.response.headers.get(REPLICA_HEADER)
        self.replica = replica or self.replica

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    def widget(self, key: str) -> Widget:
        """The widget the app drew under user key ``key`` (in the last runs). KeyError if none."""
        for widget in self.widgets.values():
            if widget.key == key:
                return widget
        raise KeyError(f"no widget with key {key!r} among {sorted(map(str, self.keys()))}")

    def keys(self) -> list[str | None]:
        return [w.key for w in self.widgets.values()]

    def set_widgets(self, states: Iterable[WidgetState]) -> None:
        """Remember widget values: every later rerun sends them, as the browser does."""
        for state in states:
            self._states[state.id] = state

    async def rerun(self, states: Iterable[WidgetState] = (), since: float | None = None) -> Run:
        """Send ``rerun_script`` with the widget values set so far and ``states``; read the
        server's messages until the script finished. Times count from ``since`` (a
        ``time.perf_counter()`` value; default: now). Raises StreamError if the session ends or
        the script does not finish within ``timeout`` seconds."""
        if self._ws is None:
            raise StreamError("the session is not open")
        self.set_widgets(states)
        msg = BackMsg()
        client = msg.rerun_script
        client.query_string = self.query
        client.page_script_hash = self.page_script_hash
        client.page_name = "" if self.page_script_hash else self.page
        client.widget_states.widgets.extend(self._states.values())
        client.cached_message_hashes.extend(self._cached)
        run = Run()
        start = time.perf_counter() if since is None else since
        await self._ws.send(msg.SerializeToString())
        try:
            async with asyncio.timeout(self.timeout):
                await self._read_until_finished(run, start)
        except TimeoutError:
            raise StreamError(f"no script_finished within {self.timeout:g} s") from None
        except websockets.ConnectionClosed as exc:
            raise StreamError(f"the server closed the session: {exc}") from None
        return run

    async def _read_until_finished(self, run: Run, start: float) -> None:
        while True:
            data = await self._ws.recv()
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            run.messages += 1
            run.received_bytes += len(data)
            kind = fwd.WhichOneof("type")
            if kind == "delta" or kind == "ref_hash":
                self._delta(fwd, run, start)
            elif kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id
            elif kind == "navigation":
                self.page_script_hash = fwd.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string
            elif kind == "page_not_found":
                run.status = f"page not found: {fwd.page_not_found.page_name!r}"
            elif kind == "script_finished":
                status = FINISHED_STATUS.get(fwd.script_finished, str(fwd.script_finished))
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue  # a rerun the page asked for (st.rerun) follows
                run.seconds = time.perf_counter() - start
                run.status = status if not run.status else run.status
                return

    def _delta(self, fwd: ForwardMsg, run: Run, start: float) -> None:
        if fwd.WhichOneof("type") == "ref_hash":
            element = self._cached.get(fwd.ref_hash, "")
        else:
            element = self._element(fwd, run)
            if fwd.metadata.cacheable:
                self._cached[fwd.hash] = element
        if run.first_chart is None and element in CHART_ELEMENTS:
            run.first_chart = time.perf_counter() - start

    def _element(self, fwd: ForwardMsg, run: Run) -> str:
        """Record the widget a delta draws; return its element type ("" for none)."""
        delta = fwd.delta
        if delta.WhichOneof("type") == "add_block":
            block = delta.add_block
            kind = block.WhichOneof("type") or ""
            body = getattr(block, kind) if kind else None
            if body is not None and getattr(body, "id", ""):
                self.widgets[body.id] = Widget(body.id, kind, getattr(body, "label", ""))
            return ""
        if delta.WhichOneof("type") != "new_element":
            return ""
        kind = delta.new_element.WhichOneof("type") or ""
        body = getattr(delta.new_element, kind)
        if kind == "exception":
            run.exceptions.append(f"{body.type}: {body.message}"[:200])
        widget_id = getattr(body, "id", "")
        if widget_id:
            options = tuple(getattr(body, "options", ()))
            label = getattr(body, "label", "")
            current = slider_value(body) if kind == "slider" else ()
            self.widgets[widget_id] = Widget(widget_id, kind, label, options, current)
        return kind
