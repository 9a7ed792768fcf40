#!/usr/bin/env python3
"""The explainer site (`treeattn explain --html`) tested in a real browser: Debian's headless Chromium driven by
Selenium through Debian's chromedriver (nothing is downloaded).

It writes the site twice (the bytes must be equal), loads it from file://, changes the learner's choices (p, the tree
shape, the seed, causality, ...), steps through every merge of the tree and the ring with the buttons and the keys,
and after each change reads every number the page shows (each carries `data-key`, its path in
`treeattn explain --json`, and `data-v`, its full value) and compares it with `treeattn explain --json` run with the
same choices: |page - reference| <= 1e-12 max(1, |reference|); where the page states a bound (`data-tol`), that one:
central differences within 16 eps max(1, |F|) / h, and the rounding errors the page shows (max |tree - exact|, ...),
whose exact values depend on the order of sums, within 1e-12 of the size of what they measure. The cluster view's numbers are compared with `treeattn simulate decode
--format json`. It checks that every control has a label, that the page fits a phone's width, that the console shows
no error and that no request leaves the site's folder, loads it once more from a static HTTP server on loopback, and
saves a screenshot of each stage.

Usage: explainer_browser.py --treeattn BIN [--screenshots DIR]
"""

import argparse
import functools
import http.server
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
except ImportError:
    sys.exit("explainer_browser.py: selenium is missing (bash scripts/setup.sh installs it)")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SITE_FILES = {"index.html", "explainer.css", "explainer.js", "data.js"}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL " + message)


def value(text):
    """A number as the page (data-v) or the reference's JSON writes it."""
    if isinstance(text, (int, float)):
        return float(text)
    return {"-inf": -math.inf, "inf": math.inf, "-Infinity": -math.inf, "Infinity": math.inf}.get(text, None) or float(text)


def flatten(obj, prefix="", out=None):
    out = {} if out is None else out
    if isinstance(obj, list):
        for i, x in enumerate(obj):
            flatten(x, f"{prefix}.{i}", out)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            flatten(x, f"{prefix}.{k}" if prefix else k, out)
    else:
        out[prefix] = obj
    return out


class Explainer:
    def __init__(self, treeattn, screenshots):
        self.treeattn = treeattn
        self.screenshots = screenshots
        self.compared = 0
        self.tmp = tempfile.mkdtemp(prefix="treeattn-explainer-")
        self.site = os.path.join(self.tmp, "site")

    def run(self, *args):
        r = subprocess.run([self.treeattn, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"treeattn {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def write_sites(self):
        self.run("explain", "--html", self.site)
        again = os.path.join(self.tmp, "again")
        self.run("explain", "--html", again)
        names = set(os.listdir(self.site))
        if names != SITE_FILES:
            fail(f"the site holds {sorted(names)}, expected {sorted(SITE_FILES)}")
        for name in names:
            with open(os.path.join(self.site, name), "rb") as a, open(os.path.join(again, name), "rb") as b:
                if a.read() != b.read():
                    fail(f"{name} differs between two runs with the same choices")
        print(f"site: {len(names)} files, byte-identical across two runs")

    def start(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1280,900", "--hide-scrollbars"]:
            options.add_argument(a)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.open("file://" + os.path.join(self.site, "index.html"))

    def open(self, url):
        """Loads a page and waits until it has computed and drawn its first state."""
        self.driver.get(url)
        self.wait(lambda: self.driver.execute_script("return document.body.dataset.ready === 'true'"), url)

    def expect_agrees(self, what):
        """The page's own check of its embedded reference must say it agrees."""
        check = self.driver.find_element(By.ID, "reference-check").text
        if not check.startswith("Agrees with the Swift reference"):
            fail(f"{what}: the page's own check of the embedded reference says: {check!r}")

    def wait(self, condition, what, seconds=10):
        end = time.time() + seconds
        while time.time() < end:
            if condition():
                return
            time.sleep(0.05)
        raise SystemExit(f"timed out waiting for {what}")

    def set(self, element_id, text):
        """Types into a control as a learner would, then lets it fire its change event."""
        self.driver.execute_script(
            "const e = document.getElementById(arguments[0]);"
            "if (e.type === 'checkbox' || e.type === 'radio') e.checked = arguments[1] === 'true';"
            "else e.value = arguments[1];"
            "e.dispatchEvent(new Event('change', {bubbles: true}));", element_id, str(text))

    def dom_numbers(self, scope="document"):
        return self.driver.execute_script(
            f"return Array.from(({scope}).querySelectorAll('[data-key]')).map(e => "
            "[e.dataset.key, e.dataset.v, e.dataset.tol || null]);")

    def reference(self, flags):
        return flatten(json.loads(self.run("explain", "--json", "--backward", *flags)))

    def compare(self, stage, flags, scope="document", least=1):
        ref = self.reference(flags)
        numbers = [n for n in self.dom_numbers(scope) if not n[0].startswith(("cluster.", "check."))]
        if len(numbers) < least:
            fail(f"{stage}: only {len(numbers)} numbers on the page (expected at least {least})")
        worst = 0.0
        for key, text, tol in numbers:
            if key not in ref:
                fail(f"{stage}: the page shows {key}, which treeattn explain --json does not have")
                continue
            mine, theirs = value(text), value(ref[key])
            if mine == theirs:
                continue
            bound = float(tol) if tol else 1e-12 * max(1.0, abs(theirs))
            diff = abs(mine - theirs)
            worst = max(worst, diff / max(1.0, abs(theirs)) if not tol else 0)
            if not diff <= bound:
                fail(f"{stage}: {key} = {text} on the page, {ref[key]} from the reference (|diff| {diff:.3g} > {bound:.3g})")
        self.compared += len(numbers)
        whole = f", and all {self.compare_whole(stage, ref)} of the reference's are in the page's walkthrough" \
            if scope == "document" else ""
        print(f"{stage}: {len(numbers)} numbers equal the reference's (largest relative difference {worst:.2g}){whole}")

    # What the reference has and the page does not compute: the choices, the cost at scale, the energy formulation of
    # the backward (Hessian-vector products) and the sink step.
    NOT_ON_THE_PAGE = ("settings.", "costs.", "cluster_name", "cluster_devices", "schema_version",
                       "backward.energy_error", "sink.")

    def compare_whole(self, stage, ref):
        """The other direction: the page's whole walkthrough (what it computed, shown or not: every merge, fold, sum,
        the plan, the ring order, the shard ranges) must hold every number of the reference's, with the same counts."""
        page = flatten(json.loads(self.driver.execute_script(
            "return JSON.stringify(TA.state.walkthrough, (k, v) => v === -Infinity ? '-inf' : v === Infinity ? 'inf' : v);")))
        def scale(prefixes):
            return max([abs(value(v)) for k, v in ref.items() if k.startswith(prefixes)] + [0.0])
        forward_scale = scale(("output.",))
        backward_scale = scale(("backward.dq.", "backward.per_key."))
        h, eps = 1e-5, 2.0 ** -52
        for key, theirs in ref.items():
            if key.startswith(self.NOT_ON_THE_PAGE):
                continue
            if key not in page:
                fail(f"{stage}: the reference has {key}, the page's walkthrough does not")
                continue
            mine, theirs = value(page[key]), value(theirs)
            if mine == theirs:
                continue
            if key.startswith("central_difference."):
                bound = 16 * eps * max(1.0, abs(value(ref["energy"]))) / h
            elif key in ("tree_error", "ring_error", "algorithm3_error"):
                bound = 1e-12 * max(1.0, forward_scale)
            elif key == "backward.tree_error":
                bound = 1e-12 * max(1.0, backward_scale)
            else:
                bound = 1e-12 * max(1.0, abs(theirs))
            if not abs(mine - theirs) <= bound:
                fail(f"{stage}: the page's {key} = {page[key]}, the reference's {ref[key]}")
        extra = [k for k in page if k not in ref]
        if extra:
            fail(f"{stage}: the page computed {len(extra)} numbers the reference does not have, e.g. {extra[:3]}")
        return sum(1 for k in ref if not k.startswith(self.NOT_ON_THE_PAGE))

    def screenshot(self, name, element_id=None):
        if not self.screenshots:
            return
        path = os.path.join(self.screenshots, name + ".png")
        if element_id:
            # A window as tall as the page, so the element is not clipped to the viewport.
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(1280, height + 100)
            self.driver.find_element(By.ID, element_id).screenshot(path)
            self.driver.set_window_size(1280, 900)
        else:
            self.driver.save_screenshot(path)

    def merge_position(self):
        return self.driver.find_element(By.ID, "merge-position").text

    def step_through(self, stage, flags, view):
        self.set(f"view-{view}", "true")
        count = 0
        while True:
            self.compare(f"{stage} {view} step {count + 1}", flags, "document.getElementById('merge-detail')")
            button = self.driver.find_element(By.ID, "merge-next")
            if button.get_attribute("aria-disabled") == "true":
                break
            if count == 1:
                self.screenshot(f"merges-{view}", "merges")
            button.click()
            count += 1
        # At the end the focused Forward button keeps the focus, so the keys go on working: Home, then ArrowRight,
        # sent to whatever has the focus (as a keyboard does).
        active = self.driver.execute_script("return document.activeElement.id")
        if active != "merge-next":
            fail(f"{stage} {view}: at the last step the focus went to {active!r}")
        ActionChains(self.driver).send_keys(Keys.HOME).perform()
        first = self.merge_position()
        ActionChains(self.driver).send_keys(Keys.ARROW_RIGHT).perform()
        second = self.merge_position()
        if not (first.split(" of ")[0].endswith(" 1") and second != first):
            fail(f"{stage} {view}: the keys did not step ({first!r}, then {second!r})")
        self.set("view-tree", "true")
        return count

    def check_accessibility(self):
        unlabelled = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('input, select, textarea'))"
            ".filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.id);")
        if unlabelled:
            fail(f"controls without a label: {unlabelled}")
        buttons = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('button')).filter(b => !(b.textContent.trim() ||"
            " b.getAttribute('aria-label'))).length;")
        if buttons:
            fail(f"{buttons} buttons without a name")

    def check_phone(self):
        """At phone width with the widest choices (64 keys, d = 16, 16 shards): nothing wider than the window."""
        for element_id, text in {"typed-values": "", "tokens": 64, "head-dim": 16, "shards": 16,
                                 "energy-component": 15}.items():
            self.set(element_id, text)
        self.driver.set_window_size(390, 844)
        time.sleep(0.2)
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];")
        if widths[0] > widths[1] + 1:
            fail(f"at phone width the page is {widths[0]} px wide in a {widths[1]} px window")
        self.screenshot("phone")
        self.driver.set_window_size(1280, 900)
        print(f"phone width: the page fits ({widths[0]} <= {widths[1]} px)")

    def check_cluster(self, preset, gpus, seq_len):
        self.set("cluster-preset", preset)
        self.set("cluster-gpus", gpus)
        self.set("cluster-seq", seq_len)
        shown = {k: value(v) for k, v, _ in self.dom_numbers() if k.startswith("cluster.")}
        out = self.run("simulate", "decode", "--cluster", f"{preset}:{gpus // 8}", "--seq-len", str(seq_len),
                       "--heads", "16", "--head-dim", "128", "--format", "json")
        sim = {s["strategy"]: s for s in json.loads(out)["strategies"]}
        checked = 0
        for strategy in ("tree", "ring"):
            s = sim[strategy]
            pairs = [("latency_us", s["latency_s"] * 1e6), ("compute_us", s["compute_s"] * 1e6),
                     ("communication_us", s["communication_s"] * 1e6), ("overhead_us", s["overhead_s"] * 1e6),
                     ("idle_us", s["idle_s"] * 1e6), ("elements_sent_per_device", s["elements_sent_per_device"])]
            pairs += [(f"bytes.{name}", b) for name, b in s["bytes_per_link_class"].items()]
            for key, expected in pairs:
                mine = shown.get(f"cluster.{strategy}.{key}")
                # simulate decode's JSON rounds times to whole picoseconds (5e-7 us); the page's means are exact.
                slack = 5e-7 + 1e-12 if key.endswith("_us") else 0.0
                if mine is None or not abs(mine - expected) <= slack + 1e-9 * max(1.0, abs(expected)):
                    fail(f"cluster {preset}/{gpus}/{seq_len}: {strategy} {key} shows {mine}, simulate decode says {expected}")
                checked += 1
        rows = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#cluster-body svg.timeline[aria-label*=\"one row per GPU\"]'))"
            ".map(s => new Set(Array.from(s.querySelectorAll('rect')).map(r => r.getAttribute('y'))).size);")
        if rows != [gpus, gpus]:
            fail(f"cluster {preset}/{gpus}: timelines have {rows} GPU rows, expected {gpus} each")
        print(f"cluster {preset}, {gpus} GPUs, {seq_len} tokens: {checked} numbers equal simulate decode's, {gpus} rows per timeline")

    def check_console_and_network(self):
        errors = [e for e in self.driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        for e in errors:
            fail(f"console: {e['message']}")
        folder = "file://" + self.site + "/"
        urls = set()
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.add(message["params"]["request"]["url"])
        outside = [u for u in urls if not (u.startswith(folder) and u[len(folder):] in SITE_FILES)]
        if outside:
            fail(f"requests outside the site: {sorted(outside)}")
        if not urls:
            fail("no request seen at all (the performance log is not working)")
        print(f"console: {len(errors)} errors; requests: {sorted(u[len(folder):] for u in urls)} (all in the site)")


def check_static_host(t):
    """The same site served by a static HTTP server on this machine's loopback (a port of its own): it loads, checks
    itself against the reference and asks for nothing but its own files."""
    handler = functools.partial(QuietHandler, directory=t.site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t.driver.get_log("performance")
        t.driver.get_log("browser")
        origin = f"http://127.0.0.1:{server.server_address[1]}/"
        t.open(origin + "index.html")
        t.expect_agrees("over HTTP")
        urls = {json.loads(e["message"])["message"]["params"]["request"]["url"]
                for e in t.driver.get_log("performance")
                if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"}
        outside = [u for u in urls if not (u.startswith(origin) and u[len(origin):] in SITE_FILES)]
        if outside:
            fail(f"over HTTP, requests outside the site: {sorted(outside)}")
        errors = [e["message"] for e in t.driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        for e in errors:
            fail(f"console over HTTP: {e}")
        print(f"static host (loopback HTTP): loads, agrees with the reference, {len(urls)} requests, all its own files")
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def check_site_of_typed_values(t):
    """A site written from typed values (`explain --html DIR --values FILE`) starts from them and agrees with them."""
    values = os.path.join(t.tmp, "start-values.json")
    with open(values, "w") as f:
        json.dump({"q": [1, -2, 0.5], "k": [[1, 0, 2], [0, 1, -1], [2, 2, 2], [-3, 1, 0]],
                   "v": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -2, -3]]}, f)
    site = os.path.join(t.tmp, "typed-site")
    t.run("explain", "--html", site, "--values", values, "--shards", "3", "--tree", "flat")
    t.open("file://" + os.path.join(site, "index.html"))
    t.expect_agrees("a site written from typed values")
    t.compare("site written from typed values", ["--values", values, "--shards", "3", "--tree", "flat"], least=100)
    # The seed still matters with typed values (dO is seeded by seed + 1).
    t.set("seed", 8)
    if "Differs" in t.driver.find_element(By.ID, "reference-check").text:
        fail("a typed-values site with another seed claims to differ from its reference")
    t.compare("typed values, seed 8", ["--values", values, "--shards", "3", "--tree", "flat", "--seed", "8"], least=100)
    # A seed above 2^53 survives data.js (JavaScript's numbers would round it).
    big = os.path.join(t.tmp, "big-seed-site")
    t.run("explain", "--html", big, "--seed", "18446744073709551557")
    t.open("file://" + os.path.join(big, "index.html"))
    t.expect_agrees("a site written with seed 2^64 - 59")
    for e in t.driver.get_log("browser"):
        if e["level"] in ("SEVERE", "WARNING"):
            fail(f"console (typed and big-seed sites): {e['message']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--treeattn", required=True)
    parser.add_argument("--screenshots", help="folder for a screenshot of each stage (created)")
    args = parser.parse_args()
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(tool):
            sys.exit(f"explainer_browser.py: {tool} is missing (bash scripts/setup.sh installs chromium and chromium-driver)")
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    t = Explainer(os.path.abspath(args.treeattn), args.screenshots)
    started = time.time()
    try:
        t.write_sites()
        t.start()
        t.expect_agrees("the first load")
        t.screenshot("page")
        t.screenshot("scores", "scores")
        t.screenshot("shards", "blocks")
        t.screenshot("energy", "energy")
        t.screenshot("backward", "backward")
        t.compare("initial state", [], least=300)
        t.check_accessibility()

        # Each change the way a learner makes it; the flags say the same to the reference.
        stages = [
            ("p = 5", {"shards": 5}, ["--shards", "5"]),
            ("3-ary tree", {"tree-shape": "kary", "tree-arg": 3}, ["--shards", "5", "--tree", "kary:3"]),
            ("seed 12345", {"seed": 12345}, ["--shards", "5", "--tree", "kary:3", "--seed", "12345"]),
            ("two-level tree, 11 keys, d = 3, blocks of 3",
             {"tree-shape": "two-level", "tree-arg": 2, "tokens": 11, "head-dim": 3, "block-size": 3},
             ["--shards", "5", "--tree", "two-level:2", "--seed", "12345", "--tokens", "11", "--head-dim", "3",
              "--block-size", "3"]),
            ("causal at 3, ring owner 2, energy along e_1",
             {"causal": "true", "query-position": 3, "ring-owner": 2, "energy-component": 1},
             ["--shards", "5", "--tree", "two-level:2", "--seed", "12345", "--tokens", "11", "--head-dim", "3",
              "--block-size", "3", "--causal", "--query-position", "3", "--ring-owner", "2", "--energy-component", "1"]),
            ("flat, 16 shards, a seed above 2^53", {"tree-shape": "flat", "shards": 16, "tokens": 20, "causal": "false",
                                                    "seed": 18446744073709551557},
             ["--shards", "16", "--tree", "flat", "--seed", "18446744073709551557", "--tokens", "20", "--head-dim",
              "3", "--block-size", "3", "--ring-owner", "2", "--energy-component", "1"]),
            # The ring owner (2) follows p down to 1 by itself.
            ("2 shards of 12 keys, blocks of 1 and 5",
             {"shards": 2, "tokens": 24, "block-size": 1},
             ["--shards", "2", "--tree", "flat", "--seed", "18446744073709551557", "--tokens", "24", "--head-dim",
              "3", "--block-size", "1", "--ring-owner", "1", "--energy-component", "1"]),
            ("blocks of 5", {"block-size": 5},
             ["--shards", "2", "--tree", "flat", "--seed", "18446744073709551557", "--tokens", "24", "--head-dim",
              "3", "--block-size", "5", "--ring-owner", "1", "--energy-component", "1"]),
            ("8 shards over 3 keys (5 shards empty)", {"tokens": 3, "shards": 8, "tree-shape": "binary"},
             ["--shards", "8", "--tree", "binary", "--seed", "18446744073709551557", "--tokens", "3", "--head-dim",
              "3", "--block-size", "5", "--ring-owner", "1", "--energy-component", "1"]),
        ]
        for stage, changes, flags in stages:
            for element_id, text in changes.items():
                t.set(element_id, text)
            t.compare(stage, flags, least=100)
        t.screenshot("after-changes")

        # Every merge, forward and back, of a binary tree and of the ring, on a causal case with fully masked shards.
        flags = ["--shards", "6", "--tree", "binary", "--tokens", "12", "--causal", "--query-position", "6",
                 "--ring-owner", "4", "--block-size", "2"]
        for element_id, text in {"seed": 7, "tokens": 12, "head-dim": 4, "block-size": 2, "energy-component": 0,
                                 "shards": 6, "tree-shape": "binary", "causal": "true", "query-position": 6,
                                 "ring-owner": 4}.items():
            t.set(element_id, text)
        t.compare("merge case", flags, least=100)
        merges = t.step_through("merge case", flags, "tree")
        folds = t.step_through("merge case", flags, "ring")
        print(f"stepped through {merges} tree merges and {folds} ring folds, each compared")

        # Typed values: edited in the box, recomputed by the page, and by the reference from the same JSON
        # (`--values`); a box with 5 keys of head dim 2 sets n and d.
        t.driver.find_element(By.ID, "fill-typed").click()
        typed = json.loads(t.driver.find_element(By.ID, "typed-values").get_attribute("value"))
        typed["q"][0] += 1.0
        typed["v"][3] = [-2.5, 0.125, 3.0, 1000.0]
        t.set("typed-values", json.dumps(typed))
        if "--values values.json" not in t.driver.find_element(By.ID, "command").text:
            fail("typed values: the page does not give the --values command")
        values = os.path.join(t.tmp, "values.json")
        with open(values, "w") as f:
            f.write(t.driver.find_element(By.ID, "typed-values").get_attribute("value"))
        t.compare("typed values", ["--values", values] + flags, least=100)
        small = {"q": [0.5, -1.0], "k": [[1, 0], [0, 1], [1, 1], [-1, 2], [3, -3]], "v": [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]}
        t.set("shards", 5)
        t.set("typed-values", json.dumps(small))
        with open(values, "w") as f:
            json.dump(small, f)
        small_flags = ["--values", values, "--shards", "5", "--tree", "binary", "--causal", "--query-position", "4",
                       "--ring-owner", "4", "--block-size", "2"]
        t.compare("typed values setting n = 5, d = 2", small_flags, least=50)
        t.set("typed-values", "")
        seeded = ["--tokens", "5", "--head-dim", "2", "--shards", "5", "--tree", "binary", "--causal",
                  "--query-position", "4", "--ring-owner", "4", "--block-size", "2"]
        t.compare("seeded again (n and d as the typed values set them)", seeded, least=50)
        # A refused choice names itself and leaves the last good state, and an emptied field is refused too.
        for element_id, text, message in [("tokens", 0, "Keys must be"), ("ring-owner", "", "Ring owner is empty")]:
            t.set(element_id, text)
            error = t.driver.find_element(By.ID, "control-error").text
            if message not in error:
                fail(f"{element_id} = {text!r} gives {error!r}")
            t.compare(f"the last good state after {element_id} = {text!r}", seeded, least=50)
            t.set(element_id, {"tokens": 5, "ring-owner": 4}[element_id])
        t.set("tokens", 12)

        t.check_cluster("dgx-h100", 32, 640000)
        t.screenshot("cluster", "cluster")
        t.check_cluster("dgx-a100", 16, 160000)
        t.check_cluster("dgx-b200", 64, 2560000)
        t.check_phone()
        t.check_console_and_network()
        check_static_host(t)
        check_site_of_typed_values(t)
    finally:
        if hasattr(t, "driver"):
            t.driver.quit()
        shutil.rmtree(t.tmp, ignore_errors=True)
    print(f"explainer_browser: {t.compared} page numbers compared in {time.time() - started:.1f} s"
          + (f", screenshots in {args.screenshots}" if args.screenshots else ""))
    if failures:
        sys.exit(f"explainer_browser: {len(failures)} failures")


if __name__ == "__main__":
    main()
