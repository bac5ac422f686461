"""Check a built website: `python site/check.py [SITE_DIR] [--screenshots DIR]` (default `_site`, `.screenshots`).

Three checks, every problem listed, exit status 1 if there is any:

1. `include_problems` and `render_problems`: every `{{< include >}}` of every page source
   (`index.qmd`, `site/*.qmd`) and every entry of `_quarto.yml`'s `render` list names a file that
   exists, once the pre-render step has run; a fresh clone has none of the generated ones, which is
   why the Pages workflow runs `python site/prerender.py` before `quarto render` (and `.ci/pages-steps`
   checks it).
2. `site_problems`: every link, anchor, picture, style sheet and script of every built page exists,
   and nothing would be loaded from another machine (the site must work offline).
3. `browser_check`: every page loads in headless Chromium (Debian's `chromium`) from a local server,
   driven through its DevTools protocol over a WebSocket, without a console error, an uncaught
   exception, a failed request, a request to another machine, a picture that did not load, or a link
   within the site that the server does not answer. Full-page screenshots of Home, Results and the
   run Results shows in detail are saved at a desktop width (1400 px) and a phone's (390 px), in a
   git-ignored folder (they may show FER2013 faces), for a person to look at.
"""
from __future__ import annotations
import argparse, base64, functools, http.server, json, os, re, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.request
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, unquote

from fermask.errors import FermaskError

ROOT = Path(__file__).resolve().parent.parent  # the project: _quarto.yml, index.qmd, site/
INCLUDE = re.compile(r'\{\{<\s*include\s+(\S+)\s*>\}\}')

def page_sources(root:Path) -> list[Path]:
    "The hand-written pages of the site: `index.qmd` and `site/*.qmd`."
    return [root/'index.qmd', *sorted((root/'site').glob('*.qmd'))]

def include_problems(root:str|Path=ROOT, # the project root
                    ) -> list[str]:
    "Every `{{< include >}}` of a page source whose file does not exist (paths are relative to the page)."
    root = Path(root)
    return [f"{page.relative_to(root)}: includes {target}: no such file" for page in page_sources(root)
            for target in INCLUDE.findall(page.read_text()) if not (page.parent/target).is_file()]

def render_problems(root:str|Path=ROOT, # the project root
                   ) -> list[str]:
    "Every entry of `_quarto.yml`'s `project: render:` list that names no file."
    import yaml
    root = Path(root)
    render = yaml.safe_load((root/'_quarto.yml').read_text())['project']['render']
    return [f"_quarto.yml: render: {entry}: no such file" for entry in render if not any(root.glob(entry))]

class _PageRefs(HTMLParser):
    "The references (tag, attribute, URL) and the element ids of one HTML page."
    def __init__(self):
        super().__init__(); self.refs, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get('id'): self.ids.add(attrs['id'])
        for attr in ('href', 'src'):
            if attrs.get(attr) is not None and not (tag == 'link' and attrs.get('rel') in ('canonical', 'alternate')):
                self.refs.append((tag, attr, attrs[attr]))

def _parse(page:Path) -> _PageRefs:
    refs = _PageRefs(); refs.feed(page.read_text()); return refs

def site_problems(site_dir:str|Path, # a built site
                 ) -> list[str]:
    "Every broken internal link, anchor or picture of a built site, and every resource it would load from elsewhere."
    site_dir = Path(site_dir).resolve()
    pages = {p: _parse(p) for p in site_dir.rglob('*.html')}
    problems = []
    for page, refs in pages.items():
        where = page.relative_to(site_dir).as_posix()
        for tag, attr, url in refs.refs:
            parts = urlsplit(url)
            if parts.scheme in ('data', 'mailto', 'javascript') or (not url.strip()): continue
            if parts.scheme or url.startswith('//'):
                if tag != 'a': problems.append(f"{where}: <{tag} {attr}> loads {url} from another machine")
                continue
            target = (page.parent/unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir(): target = target/'index.html'
            if not target.is_file(): problems.append(f"{where}: <{tag} {attr}> {url}: no such file"); continue
            if parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                problems.append(f"{where}: <{tag} {attr}> {url}: no element with id {parts.fragment!r}")
    return list(dict.fromkeys(problems))

@contextmanager
def serving(site_dir:str|Path, # a built site
            host:str='127.0.0.1', # the address to listen on
            port:int=0, # the port; 0 picks a free one
           ):
    "Serve `site_dir` over HTTP in a background thread while the block runs; yields the site's URL."
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try: yield f"http://{host}:{server.server_address[1]}/"
        finally: server.shutdown()

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    "Serves files without a log line per request, and without a traceback when a browser drops a connection."
    def log_message(self, *args): pass
    def handle(self):
        try: super().handle()
        except ConnectionError: pass

CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--disable-sync', '--no-first-run', '--disable-default-apps', '--hide-scrollbars', '--mute-audio')

def find_chromium() -> str:
    "The Chromium (or Chrome) executable on the PATH."
    found = next((p for p in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if p), None)
    if found is None: raise FermaskError("no chromium on the PATH: apt-get install chromium")
    return found

class DevTools:
    "A DevTools-protocol session with one page of a headless Chromium: commands, and the events seen meanwhile."
    def __init__(self, user_data:Path, timeout:float=30, flags:tuple=()): # flags: Chromium's, beside `CHROMIUM_FLAGS`
        import websocket
        self.process = subprocess.Popen([find_chromium(), *CHROMIUM_FLAGS, *flags, f'--user-data-dir={user_data}', '--remote-debugging-port=0',
                                         '--window-size=1280,900', 'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)   # its own process group: `close` ends its helpers too
        port_file, deadline = user_data/'DevToolsActivePort', time.time() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.time() > deadline or self.process.poll() is not None: self.close(); raise FermaskError("chromium did not start")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.loads(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=timeout).read())
        page = next(t for t in targets if t['type'] == 'page')
        self.ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=timeout, suppress_origin=True)
        self.timeout, self.next_id, self.events = timeout, 0, []
        for domain in ('Page', 'Runtime', 'Log', 'Network'): self.send(f'{domain}.enable')

    def send(self, method:str, **params) -> dict:
        "Run a DevTools command and return its result; events that arrive meanwhile are kept in `events`."
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get('id') == self.next_id:
                if 'error' in message: raise FermaskError(f"{method}: {message['error'].get('message')}")
                return message.get('result', {})
            if 'method' in message: self.events.append(message)

    def wait_for(self, event:str) -> None:
        "Keep events until `event` has arrived (it may have, while a command was answered)."
        deadline = time.time() + self.timeout
        while not any(e['method'] == event for e in self.events) and time.time() < deadline:
            message = json.loads(self.ws.recv())
            if 'method' in message: self.events.append(message)
        if not any(e['method'] == event for e in self.events): raise FermaskError(f"{event} did not arrive within {self.timeout}s")

    def capture(self, tries:int=20) -> bytes:
        "A PNG of the whole page (beyond the window), retried while Chromium reports the page 0 wide: a layout not yet done, under load."
        for attempt in range(tries):
            try: return base64.b64decode(self.send('Page.captureScreenshot', format='png', captureBeyondViewport=True)['data'])
            except FermaskError as e:
                if '0 width' not in str(e) or attempt == tries - 1: raise
                time.sleep(0.25)

    def evaluate(self, expression:str):
        "The value of a JavaScript expression in the page."
        return self.send('Runtime.evaluate', expression=expression, returnByValue=True)['result'].get('value')

    def close(self, grace:float=10):
        "End the session and every process of its Chromium: asked first, killed after `grace` seconds."
        if getattr(self, 'ws', None): self.ws.close()
        group = self.process.pid   # the browser leads its own process group
        self.process.terminate()
        try: self.process.wait(grace)
        except subprocess.TimeoutExpired: pass
        try: os.killpg(group, signal.SIGKILL)   # renderers and helpers that outlived the browser
        except ProcessLookupError: pass
        self.process.wait()
        deadline = time.time() + grace
        while _group_alive(group) and time.time() < deadline: time.sleep(0.05)

def _group_alive(group:int) -> bool:
    try: os.killpg(group, 0); return True
    except ProcessLookupError: return False

def _event_problems(events:list, base:str) -> list[str]:
    "What went wrong on a page, from the DevTools events of its load."
    problems, urls = [], {}
    for e in events:
        m, p = e['method'], e['params']
        if m == 'Network.requestWillBeSent':
            urls[p['requestId']] = url = p['request']['url']
            if not url.startswith((base, 'data:', 'about:')): problems.append(f"request to another machine: {url}")
        elif m == 'Network.loadingFailed' and not p.get('canceled'):
            problems.append(f"failed request: {urls.get(p['requestId'], '?')} ({p['errorText']})")
        elif m == 'Network.responseReceived' and p['response']['status'] >= 400:
            problems.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        elif m == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'assert'):
            problems.append('console error: ' + ' '.join(str(a.get('value', a.get('description', ''))) for a in p['args']))
        elif m == 'Runtime.exceptionThrown': problems.append('exception: ' + p['exceptionDetails'].get('text', ''))
        elif m == 'Log.entryAdded' and p['entry']['level'] == 'error' and p['entry'].get('source') != 'network':
            problems.append(f"error: {p['entry']['text']}")  # failed loads are reported above, with their URL
    return list(dict.fromkeys(problems))

SCREEN_WIDTHS = (1400, 390)  # a desktop's and a phone's, in CSS pixels
PHONE = 576                  # Bootstrap's first breakpoint: narrower is laid out as a phone

def shown_run_page(site_dir:Path) -> str|None:
    "The run page that Results links to (the run it shows in detail), relative to `site_dir`; None if it links to none."
    results = site_dir/'site'/'results.html'
    if not results.is_file(): return None
    links = [urlsplit(url).path for tag, attr, url in _parse(results).refs if tag == 'a' and re.search(r'(^|/)runs/.+/train\.html$', urlsplit(url).path)]
    return (results.parent/links[0]).resolve().relative_to(site_dir.resolve()).as_posix() if links else None

def screenshot(tools:DevTools, # a session with Chromium
               url:str, # the page
               width:int, # the window's width in CSS pixels; below `PHONE` Chromium lays the page out as a phone does
               path:Path, # the PNG to write
              ) -> int:
    "Save a full-page screenshot of `url` at `width`; the width of the page's content, wider than `width` if it overflows."
    metrics = dict(width=width, deviceScaleFactor=1, mobile=width < PHONE)
    tools.send('Emulation.setDeviceMetricsOverride', height=900, **metrics)
    tools.send('Page.navigate', url=url)  # loaded again at this width: the layout is the one a reader of this width gets
    tools.wait_for('Page.loadEventFired')
    time.sleep(0.3)
    size = tools.send('Page.getLayoutMetrics')['cssContentSize']
    tools.send('Emulation.setDeviceMetricsOverride', height=min(int(size['height']), 16000), **metrics)
    png = tools.capture()
    content_width = int(tools.evaluate('document.documentElement.scrollWidth'))
    tools.send('Emulation.clearDeviceMetricsOverride')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return content_width

def browser_check(site_dir:str|Path, # a built site
                  screenshots:str|Path|None=None, # where to save full-page screenshots (a git-ignored folder)
                  shots:tuple|None=None, # the pages to screenshot; default Home, Results and the run page Results links to
                  timeout:float=30, # seconds to wait for Chromium and for each page
                 ) -> list[str]:
    "Load every page of a built site in headless Chromium from a local server; the problems found (none is a pass)."
    site_dir = Path(site_dir)
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob('*.html') if 'site_libs' not in p.parts)
    shots = shots if shots is not None else [p for p in ('index.html', 'site/results.html', shown_run_page(site_dir)) if p]
    problems, internal = [], set()
    with serving(site_dir) as base, tempfile.TemporaryDirectory(prefix='fermask-chromium-') as user_data:
        tools = DevTools(Path(user_data), timeout)
        try:
            for page in pages:
                tools.events = []
                tools.send('Page.navigate', url=base + page)
                tools.wait_for('Page.loadEventFired')
                time.sleep(0.2)  # late console messages
                tools.evaluate('1')
                found = _event_problems(tools.events, base)
                broken = tools.evaluate("JSON.stringify([...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')))")
                found += [f"picture did not load: {src}" for src in json.loads(broken)]
                problems += [f"{page}: {p}" for p in found]
                hrefs = json.loads(tools.evaluate("JSON.stringify([...document.querySelectorAll('a[href]')].map(a => a.href))"))
                internal |= {h.split('#')[0] for h in hrefs if h.startswith(base)}
            for page in shots if screenshots is not None else ():
                for width in SCREEN_WIDTHS:
                    name = f"{page.replace('/', '-').removesuffix('.html')}-{width}.png"
                    content = screenshot(tools, base + page, width, Path(screenshots)/name)
                    if content > width: problems.append(f"{page}: {content} px wide at a {width} px screen: the page scrolls sideways")
        finally: tools.close()
        for url in sorted(internal):
            try: urllib.request.urlopen(urllib.request.Request(url, method='HEAD'), timeout=timeout).close()
            except OSError as e: problems.append(f"broken link: {url[len(base):]} ({e})")
    return problems


if __name__ == '__main__':
    from fermask.cli import one_line_errors
    parser = argparse.ArgumentParser(prog='python site/check.py', description=__doc__.splitlines()[0])
    parser.add_argument('site_dir', nargs='?', default=str(ROOT/'_site'), help='the built site (default: _site/ in the project)')
    parser.add_argument('--screenshots', default=str(ROOT/'.screenshots'), help='where the screenshots go (default: .screenshots/, git-ignored)')
    args = parser.parse_args()
    with one_line_errors():
        problems = include_problems(ROOT) + render_problems(ROOT) + site_problems(args.site_dir) + browser_check(args.site_dir, screenshots=args.screenshots)
    if not problems:   # the Try it page's own check: the model in the page against `fermask predict`, its speed, its bad input
        try_it = subprocess.run([sys.executable, str(ROOT/'site'/'demo'/'check_page.py'), args.site_dir, '--screenshots', str(Path(args.screenshots)/'try')])
        if try_it.returncode: problems.append("the Try it page failed its check (site/demo/check_page.py, above)")
    print('\n'.join(problems) if problems else f"every include, link, picture and page of {args.site_dir} is fine; screenshots in {args.screenshots}/")
    raise SystemExit(1 if problems else 0)
