#!/usr/bin/env node
// The web console of `lightflusd serve` in a real browser: Debian's Chromium, headless, driven
// over the Chrome DevTools Protocol on a pipe (--remote-debugging-pipe; no npm package).
//
//   node console_test.js LIGHTFLUSD SOURCE_DIR ARTIFACT_DIR [CHROMIUM]
//
// 1. A daemon without a token: the page submits a job (a .ts file chosen in the file input,
//    parameters typed into the form), the job appears in the list with moving counters, its
//    page draws the operator graph (a hash exchange after keyBy) and shows the source and the
//    parameters (a secret one redacted); a savepoint, a cancelled and a confirmed stop, and a
//    delete, each through its confirm dialog.
// 2. A daemon with a token: the page asks for it, refuses a wrong one, works with the right
//    one (which it keeps in the tab's sessionStorage only: a new tab asks again), and the API
//    refuses a request without it.
//
// Screenshots go to ARTIFACT_DIR (ctest passes <build>/Testing/console). The browser reaches
// only loopback: every other address goes to a proxy at 127.0.0.1:9, where nothing listens.
// Exits 77 (ctest: skipped) when there is no Chromium.
"use strict";

const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const [lightflusd, root, artifactDir, chromiumArg] = process.argv.slice(2);
if (!lightflusd || !root || !artifactDir) {
  console.error("usage: console_test.js LIGHTFLUSD SOURCE_DIR ARTIFACT_DIR [CHROMIUM]");
  process.exit(2);
}
const jobsDir = path.join(root, "test", "server", "jobs");

function findChromium() {
  if (chromiumArg && !chromiumArg.endsWith("NOTFOUND") && fs.existsSync(chromiumArg)) return chromiumArg;
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // not this one
    }
  }
  return null;
}

const chromium = findChromium();
if (!chromium) {
  console.log("SKIPPED: no chromium (scripts/setup.sh installs Debian's)");
  process.exit(77);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lightflus-console-test-"));
fs.mkdirSync(artifactDir, { recursive: true });
const children = [];

function log(message) {
  console.log(`console_test: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The daemon

async function startDaemon(name, extraArgs) {
  const logPath = path.join(tmp, `${name}.log`);
  const err = fs.openSync(logPath, "w");
  const child = spawn(
    lightflusd,
    ["serve", "--port", "0", "--data-dir", path.join(tmp, `data-${name}`), "--allow-path", tmp,
     "--checkpoint-interval", "1s", ...extraArgs],
    { stdio: ["ignore", "ignore", err] },
  );
  fs.closeSync(err);
  children.push(child);
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(logPath, "utf8");
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
    if (match) return { child, base: match[1], logPath };
    if (child.exitCode !== null) throw new Error(`${name}: lightflusd exited: ${text}`);
    await sleep(50);
  }
  throw new Error(`${name}: lightflusd did not start: ${fs.readFileSync(logPath, "utf8")}`);
}

async function stopProcess(child, timeoutMs = 8000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

// A request to the daemon from Node (not the browser): { status, body }.
function apiRequest(base, method, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}${urlPath}`, { method, headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Chromium over the DevTools protocol (JSON messages ending in \0 on fds 3 and 4)

class Browser {
  static async launch() {
    const profile = path.join(tmp, "chromium");
    const args = [
      "--headless=new",
      "--remote-debugging-pipe",
      `--user-data-dir=${profile}`,
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-default-apps",
      "--disable-sync",
      "--disable-breakpad",
      "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
      "--no-pings",
      "--metrics-recording-only",
      "--mute-audio",
      // Only loopback: anything else goes to a proxy that is not there.
      "--proxy-server=http://127.0.0.1:9",
      "--window-size=1400,1000",
      "about:blank",
    ];
    if (process.getuid && process.getuid() === 0) args.unshift("--no-sandbox");
    const env = Object.assign({}, process.env, {
      HOME: tmp,
      XDG_CONFIG_HOME: path.join(tmp, "config"),
      XDG_CACHE_HOME: path.join(tmp, "cache"),
    });
    const stderrPath = path.join(tmp, "chromium.log");
    const err = fs.openSync(stderrPath, "w");
    const child = spawn(chromium, args, { stdio: ["ignore", "ignore", err, "pipe", "pipe"], env });
    fs.closeSync(err);
    children.push(child);
    const browser = new Browser(child, stderrPath);
    const { product } = await browser.send("Browser.getVersion");
    log(`browser ${product}`);
    return browser;
  }

  constructor(child, stderrPath) {
    this.child = child;
    this.stderrPath = stderrPath;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.pages = [];
    this.buffer = "";
    child.stdio[4].setEncoding("utf8");
    child.stdio[4].on("data", (chunk) => this.receive(chunk));
    child.on("exit", (code, signal) => {
      for (const { reject } of this.pending.values()) {
        reject(new Error(`chromium exited (${code ?? signal}): ${this.stderrTail()}`));
      }
      this.pending.clear();
    });
  }

  stderrTail() {
    try {
      return fs.readFileSync(this.stderrPath, "utf8").split("\n").slice(-15).join("\n");
    } catch {
      return "";
    }
  }

  receive(chunk) {
    this.buffer += chunk;
    let end;
    while ((end = this.buffer.indexOf("\0")) >= 0) {
      const message = JSON.parse(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + 1);
      if (message.id !== undefined && this.pending.has(message.id)) {
        const { resolve, reject, method } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) reject(new Error(`${method}: ${message.error.message} ${message.error.data || ""}`));
        else resolve(message.result);
      } else if (message.method) {
        for (const listener of this.listeners) listener(message);
      }
    }
  }

  send(method, params = {}, sessionId = undefined, timeoutMs = 30000) {
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      this.child.stdio[3].write(`${JSON.stringify(message)}\0`);
    });
  }

  async newPage() {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId);
    this.pages.push(page);
    this.listeners.push((message) => {
      if (message.sessionId === sessionId) page.onEvent(message);
    });
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Log.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false,
    });
    return page;
  }

  async close() {
    try {
      await this.send("Browser.close", {}, undefined, 5000);
    } catch {
      // it may be gone already
    }
    await stopProcess(this.child, 3000);
  }
}

class Page {
  constructor(browser, sessionId) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.problems = []; // script errors, CSP violations, console errors
    this.allowedNetworkErrors = [];
  }

  send(method, params = {}) {
    return this.browser.send(method, params, this.sessionId);
  }

  onEvent(message) {
    const { method, params } = message;
    if (method === "Runtime.exceptionThrown") {
      const d = params.exceptionDetails;
      this.problems.push(`exception: ${d.exception ? d.exception.description : d.text}`);
    } else if (method === "Runtime.consoleAPICalled" && (params.type === "error" || params.type === "assert")) {
      this.problems.push(`console.${params.type}: ${params.args.map((a) => a.value ?? a.description).join(" ")}`);
    } else if (method === "Log.entryAdded" && params.entry.level === "error") {
      const text = `${params.entry.source}: ${params.entry.text} ${params.entry.url || ""}`;
      if (!this.allowedNetworkErrors.some((re) => re.test(text))) this.problems.push(text);
    }
  }

  async goto(url) {
    await this.send("Page.navigate", { url });
    await this.waitFor("document.readyState === 'complete'", "the page to load");
  }

  // The value of a JavaScript expression in the page (awaited).
  async eval(expression) {
    const result = await this.send("Runtime.evaluate", {
      expression, awaitPromise: true, returnByValue: true,
    });
    if (result.exceptionDetails) {
      const d = result.exceptionDetails;
      throw new Error(`${expression}: ${d.exception ? d.exception.description : d.text}`);
    }
    return result.result.value;
  }

  async waitFor(expression, what, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await this.eval(expression);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      await sleep(100);
    }
    throw new Error(`waited ${timeoutMs} ms for ${what} (${expression} was ${JSON.stringify(last)}); ` +
                    `page text: ${await this.text("body").catch(() => "?")}`);
  }

  text(selector) {
    return this.eval(`(document.querySelector(${JSON.stringify(selector)}) || {}).innerText`);
  }

  // A real click: mouse events at the middle of the element.
  async click(selector) {
    const box = await this.eval(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return null;
      el.scrollIntoView({ block: "center", inline: "center" });
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
    })()`);
    if (!box || box.w === 0 || box.h === 0) throw new Error(`no visible element ${selector} to click`);
    const mouse = { x: box.x, y: box.y, button: "left", clickCount: 1 };
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: box.x, y: box.y });
    await this.send("Input.dispatchMouseEvent", { type: "mousePressed", ...mouse });
    await this.send("Input.dispatchMouseEvent", { type: "mouseReleased", ...mouse });
  }

  // Clicks into a field, clears it and types `text`.
  async type(selector, text) {
    await this.click(selector);
    await this.eval(`document.querySelector(${JSON.stringify(selector)}).select()`);
    await this.send("Input.insertText", { text });
  }

  async pressEnter() {
    const key = { key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13 };
    await this.send("Input.dispatchKeyEvent", { type: "keyDown", text: "\r", ...key });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...key });
  }

  async chooseFile(selector, file) {
    const { root } = await this.send("DOM.getDocument", { depth: 0 });
    const { nodeId } = await this.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no ${selector}`);
    await this.send("DOM.setFileInputFiles", { nodeId, files: [file] });
  }

  // A PNG of the whole page into ARTIFACT_DIR/console-NAME.png.
  async screenshot(name) {
    const file = path.join(artifactDir, `console-${name}.png`);
    try {
      const { cssContentSize } = await this.send("Page.getLayoutMetrics");
      const { data } = await this.send("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: Math.ceil(cssContentSize.width), height: Math.ceil(cssContentSize.height), scale: 1 },
      });
      fs.writeFileSync(file, Buffer.from(data, "base64"));
      log(`screenshot ${file}`);
    } catch (e) {
      log(`no screenshot ${name}: ${e.message}`);
    }
    return file;
  }

  checkNoProblems(what) {
    if (this.problems.length > 0) {
      throw new Error(`${what}: the page reported errors:\n  ${this.problems.join("\n  ")}`);
    }
  }

  async close() {
    await this.browser.send("Target.closeTarget", { targetId: await this.targetId() }).catch(() => {});
  }

  async targetId() {
    const { targetInfo } = await this.send("Target.getTargetInfo");
    return targetInfo.targetId;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// A number shown by the page ("1,234" -> 1234; "–" -> NaN).
function numberOf(text) {
  return Number(String(text).replace(/[^0-9.]/g, "") || NaN);
}

// ---------------------------------------------------------------------------------------------
// 1. Submit, watch, stop and delete a job from the page

async function submitWatchStop(browser) {
  const daemon = await startDaemon("open", []);
  const page = await browser.newPage();
  const started = Date.now();
  await page.goto(`${daemon.base}/`);
  await page.waitFor("!document.getElementById('view-jobs').hidden && !document.getElementById('jobs-empty').hidden",
                     "the empty jobs list");

  // Submit from the page: the file, a parallelism, two parameters.
  await page.click("#nav-submit");
  await page.waitFor("!document.getElementById('view-submit').hidden", "the submit form");
  await page.chooseFile("#submit-file", path.join(jobsDir, "user_counts.ts"));
  await page.waitFor("document.getElementById('submit-source').value.includes('perUser')",
                     "the chosen file in the source field");
  check((await page.eval("document.getElementById('submit-name').value")) === "user_counts",
        "the name was not taken from the file name");
  await page.type("#submit-parallelism", "2");
  const output = path.join(tmp, "user_counts.jsonl");
  await page.type("#submit-params .param-row:nth-child(1) .param-name", "output");
  await page.type("#submit-params .param-row:nth-child(1) .param-value", output);
  await page.click("#submit-add-param");
  await page.type("#submit-params .param-row:nth-child(2) .param-name", "apiToken");
  await page.type("#submit-params .param-row:nth-child(2) .param-value", "s3cr3t-t0ken-value");
  await page.click("#submit-button");
  const jobId = await page.waitFor(
    "(/^#\\/jobs\\/([0-9a-f]+)$/.exec(location.hash) || [])[1]", "the job's page after submitting", 60000);
  log(`submitted job ${jobId} from the page`);

  // The job's page: the graph with its hash exchange, live counters, source, parameters.
  await page.waitFor("document.getElementById('job-name').textContent === 'user_counts'", "the job's name");
  await page.waitFor("document.querySelectorAll('#graph g.node').length >= 3", "the operator graph");
  await page.waitFor("document.querySelector('#graph path.edge[data-exchange=\"hash\"][data-chained=\"false\"]') !== null",
                     "a hash exchange in the graph");
  const nodes = await page.eval("[...document.querySelectorAll('#graph g.node')].map((g) => g.dataset.name)");
  check(nodes.includes("perUser") && nodes.includes("numbers"), `graph nodes: ${nodes}`);
  await page.waitFor("document.getElementById('job-source').textContent.includes('ratePerSecond(500)')",
                     "the job's source");
  const params = await page.text("#job-params");
  check(params.includes("apiToken") && params.includes("***"), `parameters shown: ${params}`);
  check(params.includes(output), `the output parameter is not shown: ${params}`);
  check(!(await page.eval("document.documentElement.outerHTML.includes('s3cr3t-t0ken-value')")),
        "the secret parameter's value is on the job's page");
  const inText = "document.querySelector('#job-summary [data-key=in] dd').textContent";
  await page.waitFor(`${inText} !== '–' && ${inText} !== '0'`, "records in on the job's page");
  const before = numberOf(await page.eval(inText));
  await page.waitFor(`Number(${inText}.replace(/[^0-9]/g, '')) > ${before}`, "the job's counters to move");
  await page.waitFor("[...document.querySelectorAll('#graph g.node .node-rate')].some((t) => /in [1-9]/.test(t.textContent))",
                     "a rate in the graph");

  // The list: the job appears, running, with moving counters.
  await page.click("#nav-jobs");
  const row = `#jobs-table tr[data-job-id='${jobId}']`;
  await page.waitFor(`document.querySelector("${row}") !== null`, "the job in the list");
  await page.waitFor(`document.querySelector("${row} .col-status").innerText === 'running'`, "running in the list");
  const listIn = `document.querySelector("${row} .col-in").innerText`;
  const firstIn = numberOf(await page.eval(listIn));
  await page.waitFor(`Number(${listIn}.replace(/[^0-9]/g, '')) > ${firstIn}`, "the list's counters to move");
  await page.waitFor(`/[1-9]/.test(document.querySelector("${row} .col-in-rate").innerText)`, "a rate in the list");
  await page.waitFor(`/#\\d+/.test(document.querySelector("${row} .col-checkpoint").innerText)`, "a checkpoint in the list");
  await page.screenshot("jobs");

  // Back to its page through the link; a savepoint, then a stop (cancelled once, then confirmed).
  await page.click(`${row} .col-name a`);
  await page.waitFor(`location.hash === '#/jobs/${jobId}' && !document.getElementById('view-job').hidden && ` +
                     "document.querySelectorAll('#graph g.node').length >= 3", "the job's page and graph again");
  await page.waitFor("!document.getElementById('job-savepoint').disabled", "the savepoint button");
  await page.click("#job-savepoint");
  await page.waitFor("document.getElementById('confirm-dialog').open", "the savepoint's confirm dialog");
  await page.click("#confirm-ok");
  await page.waitFor("document.getElementById('notice').textContent.startsWith('Savepoint written: ')", "the savepoint", 60000);
  const savepoint = (await page.text("#notice")).replace("Savepoint written: ", "").trim();
  check(fs.existsSync(savepoint), `the savepoint ${savepoint} does not exist`);
  await sleep(1200); // a second of backpressure samples and rates for the picture
  await page.screenshot("job");

  await page.click("#job-stop");
  await page.waitFor("document.getElementById('confirm-dialog').open", "the stop's confirm dialog");
  await page.click("#confirm-cancel");
  await page.waitFor("!document.getElementById('confirm-dialog').open", "the dialog to close");
  await sleep(1500);
  check((await apiRequest(daemon.base, "GET", `/v1/jobs/${jobId}`)).body.includes('"status":"running"'),
        "cancelling the confirm stopped the job");
  await page.click("#job-stop");
  await page.waitFor("document.getElementById('confirm-dialog').open", "the stop's confirm dialog");
  await page.click("#confirm-ok");
  await page.waitFor("document.getElementById('job-status').textContent === 'stopped'", "the job to stop");
  const stopped = JSON.parse((await apiRequest(daemon.base, "GET", `/v1/jobs/${jobId}`)).body);
  check(stopped.status === "stopped" && stopped.recordsIn > 0, `after stop the API says ${JSON.stringify(stopped)}`);
  await page.screenshot("job-stopped");

  // Delete: gone from the list and the API.
  await page.click("#job-delete");
  await page.waitFor("document.getElementById('confirm-dialog').open", "the delete's confirm dialog");
  await page.click("#confirm-ok");
  await page.waitFor("location.hash === '#/' && !document.getElementById('jobs-empty').hidden", "the empty list after delete");
  check((await apiRequest(daemon.base, "GET", `/v1/jobs/${jobId}`)).status === 404, "the deleted job is still there");

  page.checkNoProblems("submit, watch, stop, delete");
  await page.close();
  await stopProcess(daemon.child);
  log(`submitted, watched, saved, stopped and deleted a job in the browser (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// ---------------------------------------------------------------------------------------------
// 2. The token

async function token(browser) {
  const secret = "t0ken-for-the-console";
  const daemon = await startDaemon("token", ["--token", secret]);
  const page = await browser.newPage();
  // The page's first requests are refused until it has the token; Chromium logs those.
  page.allowedNetworkErrors.push(/status of 401/);
  await page.goto(`${daemon.base}/`);
  await page.waitFor("document.getElementById('token-dialog').open", "the token dialog");
  await page.screenshot("token");

  // The API refuses a request without the token, from Node and from the page.
  check((await apiRequest(daemon.base, "GET", "/v1/jobs")).status === 401, "GET /v1/jobs without the token");
  check((await page.eval("fetch('/v1/jobs').then((r) => r.status)")) === 401, "the page's fetch without the token");

  await page.type("#token-input", "wrong");
  await page.pressEnter();
  await page.waitFor("document.getElementById('token-dialog').open && !document.getElementById('token-error').hidden",
                     "the wrong token refused");
  await page.type("#token-input", secret);
  await page.click("#token-submit");
  await page.waitFor("!document.getElementById('token-dialog').open && !document.getElementById('jobs-empty').hidden",
                     "the jobs list with the token");
  await page.waitFor("document.getElementById('connection').textContent.startsWith('live')", "a live connection");
  check((await page.eval("sessionStorage.getItem('lightflus.token')")) === secret, "the token is not in sessionStorage");
  check((await page.eval("localStorage.length")) === 0, "the page wrote to localStorage");
  check((await page.eval("document.cookie")) === "", "the page set a cookie");

  // Submitted with the token: a bounded job, from the source field this time.
  await page.click("#nav-submit");
  await page.waitFor("!document.getElementById('view-submit').hidden", "the submit form");
  await page.type("#submit-source", fs.readFileSync(path.join(jobsDir, "squares.ts"), "utf8"));
  await page.type("#submit-name", "squares");
  await page.type("#submit-params .param-row:nth-child(1) .param-name", "count");
  await page.type("#submit-params .param-row:nth-child(1) .param-value", "100");
  await page.click("#submit-add-param");
  await page.type("#submit-params .param-row:nth-child(2) .param-name", "output");
  await page.type("#submit-params .param-row:nth-child(2) .param-value", path.join(tmp, "squares.txt"));
  await page.click("#submit-button");
  await page.waitFor("document.getElementById('job-status').textContent === 'finished'", "squares to finish", 60000);
  await page.waitFor("document.querySelector('#job-summary [data-key=out] dd').textContent === '100'", "100 records out");

  // Another tab does not share it: it asks again.
  const other = await browser.newPage();
  other.allowedNetworkErrors.push(/status of 401/);
  await other.goto(`${daemon.base}/`);
  await other.waitFor("document.getElementById('token-dialog').open", "the token dialog in a new tab");
  check((await other.eval("sessionStorage.getItem('lightflus.token')")) === null, "a new tab has the token");

  page.checkNoProblems("token");
  other.checkNoProblems("token, second tab");
  await other.close();
  await page.close();
  await stopProcess(daemon.child);
  log("the page asked for the token, refused a wrong one, worked with it, kept it in its tab");
}

// ---------------------------------------------------------------------------------------------

// Runs a scenario; on failure, a screenshot of each page it opened (console-failure-NAME-N.png).
async function scenario(browser, name, fn) {
  const first = browser.pages.length;
  try {
    await fn(browser);
  } catch (e) {
    for (const [i, page] of browser.pages.slice(first).entries()) {
      await page.screenshot(`failure-${name}-${i + 1}`);
      if (page.problems.length) log(`page ${i + 1} reported: ${page.problems.join(" | ")}`);
    }
    throw e;
  }
}

async function main() {
  const started = Date.now();
  let browser;
  try {
    browser = await Browser.launch();
    await scenario(browser, "jobs", submitWatchStop);
    await scenario(browser, "token", token);
    log(`all passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${artifactDir}`);
  } catch (e) {
    for (const file of fs.readdirSync(tmp).filter((f) => f.endsWith(".log"))) {
      const lines = fs.readFileSync(path.join(tmp, file), "utf8").split("\n");
      // Chromium complains about the missing D-Bus of a container: noise.
      const text = lines.filter((line) => !/dbus/.test(line)).slice(-20).join("\n");
      console.error(`--- ${file}\n${text}`);
    }
    throw e;
  } finally {
    if (browser) await browser.close();
    for (const child of children) await stopProcess(child);
    // Chromium's helper processes (network service, GPU) may still write its cache for a
    // moment after the browser process exits: retry on ENOTEMPTY/EBUSY rather than leave it.
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

main().catch((e) => {
  console.error(`FAILED: ${e.stack || e.message}`);
  process.exitCode = 1;
});
