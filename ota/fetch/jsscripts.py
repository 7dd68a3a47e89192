"""The scripts that `ota.fetch.jsfilters` evaluates in a runner page: load a page and the filters,
call one filter, serialise the filtered page."""

# Parses the page and writes it into the runner's sandboxed iframe, made on the runner's first page
# (`ota.fetch.jsfilters`), then loads the built-in and the service's filters as ES modules. The
# page comes deflated (zlib) and base64-encoded: a third of the bytes to carry through Playwright's
# driver and the browser process, which parse every message.
#
# The page is parsed by a `DOMParser` (the HTML parser, scripting off as in the sandboxed frame,
# nothing fetched), then moved into the frame's document, cleared by `document.open`: parsed there
# directly, each of a page's scripts would be refused with a console message (sent to the browser
# and the driver) and each subresource with another, most of the cost of a page. The nodes before
# the root element (doctype, comments) are written by the frame's own parser, which sets the
# document's mode (quirks or not) from them as for the page; should the modes differ (never seen),
# the page is written whole instead.
LOAD = """async ([url, deflated, builtinSource, serviceSource]) => {
  let frame = window.otaFrame;
  const created = !(frame && frame.isConnected && frame.contentDocument && !window.otaTainted);
  if (created) {
    document.body.replaceChildren();
    frame = document.createElement('iframe');
    frame.sandbox = 'allow-same-origin';
    frame.style.display = 'none'; // no layout: not needed by the DOM, and a third of the time
    await new Promise(resolve => {
      frame.addEventListener('load', resolve, { once: true });
      frame.src = url;
      document.body.append(frame);
    });
    window.otaFrame = frame;
    window.otaDocumentKeys = Object.getOwnPropertyNames(frame.contentDocument).length;
  }
  if (!window.otaTimers) {
    // The timers a page's filters leave (timeouts, intervals, animation frames, idle callbacks)
    // are cleared when it is serialised: OTA serialises a page as its last filter returns, so they
    // never change it, and kept they would change the next page written into this frame.
    const timers = window.otaTimers = new Set();
    for (const [set, clear] of [['setTimeout', 'clearTimeout'], ['setInterval', 'clearInterval'],
      ['requestAnimationFrame', 'cancelAnimationFrame'], ['requestIdleCallback', 'cancelIdleCallback']]) {
      const setter = window[set], clearer = window[clear];
      if (typeof setter !== 'function' || typeof clearer !== 'function') continue;
      window[set] = function (...args) {
        const id = setter.apply(window, args);
        timers.add(() => clearer.call(window, id));
        return id;
      };
    }
  }
  const bytes = Uint8Array.fromBase64 ? Uint8Array.fromBase64(deflated)
    : Uint8Array.from(atob(deflated), c => c.charCodeAt(0));
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  const html = await new Response(inflated).text();
  const page = frame.contentDocument;
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  const nodes = [...parsed.childNodes];
  const root = nodes.indexOf(parsed.documentElement);
  const serializer = new XMLSerializer();
  page.open();
  page.write(nodes.slice(0, root).map(node => serializer.serializeToString(node)).join(''));
  page.close();
  if (page.compatMode === parsed.compatMode) {
    page.replaceChild(page.adoptNode(nodes[root]), page.documentElement);
    page.append(...nodes.slice(root + 1).map(node => page.adoptNode(node)));
  } else {
    page.open();
    page.write(html);
    page.close();
  }
  // What a page's <meta http-equiv> sets in its document (a security policy, the language) would
  // stay with the frame: the next page gets a new one.
  const lasting = ['content-security-policy', 'content-language'].map(name => `meta[http-equiv="${name}" i]`);
  window.otaTainted = page.querySelector(lasting.join(', ')) !== null;
  frame.contentWindow.history.replaceState(null, '', url);
  const load = async source => {
    const address = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    try {
      return await import(address);
    } finally {
      URL.revokeObjectURL(address);
    }
  };
  // ota's built-in filters keep no state: imported once per runner. A service's, once per page.
  const builtins = await (window.otaBuiltins ??= load(builtinSource));
  let service;
  try {
    service = await load(serviceSource);
  } catch (error) {
    return { created, error: describe(error) };
  }
  const functions = module => Object.keys(module).filter(name => typeof module[name] === 'function');
  window.ota = { page, builtins, service, contextRead: false };
  return { created, builtins: functions(builtins), service: functions(service) };

  function describe(error) {
    try { return String(error); } catch { return Object.prototype.toString.call(error); }
  }
}"""
# Calls one filter as OTA does; resolves to null, or to the error as `String(error)` gives it.
# The context is handed behind a proxy that notes any look at it: a page whose filters never look
# gives the same result whatever `select` and `remove` are declared (see `Filtered`).
RUN = """async ([name, builtin, hasParameters, parameters, plainContext]) => {
  const ota = window.ota;
  const { page, builtins, service } = ota;
  const noted = operation => (...args) => { ota.contextRead = true; return Reflect[operation](...args); };
  const context = new Proxy(plainContext, Object.fromEntries(
    ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'set', 'defineProperty',
     'deleteProperty'].map(operation => [operation, noted(operation)])
  ));
  try {
    if (builtin) {
      await builtins[name](page, hasParameters ? parameters : undefined, context);
    } else if (hasParameters && parameters) {
      await service[name](page, parameters, context);
    } else {
      await service[name](page, context);
    }
    return null;
  } catch (error) {
    try { return String(error); } catch { return Object.prototype.toString.call(error); }
  }
}"""
# What `page.content()` gives: the doctype as the browser serialises it, then the root element.
# A parser drops the newline that follows <pre>, <textarea> and <listing>, and Chromium serialises
# them without adding one back, so a text starting with a newline would lose it when parsed again:
# it is doubled first (the page is not used afterwards).
SERIALISE = """() => {
  const page = window.ota.page;
  for (const clear of window.otaTimers) clear();
  window.otaTimers.clear();
  // A property a filter set on the document object itself would stay for the next page of the
  // frame (document.open keeps the object): that page gets a new frame, as OTA gives each a new DOM.
  if (Object.getOwnPropertyNames(page).length !== window.otaDocumentKeys) window.otaTainted = true;
  for (const element of page.querySelectorAll('pre, textarea, listing')) {
    const first = element.firstChild;
    if (first && first.nodeType === Node.TEXT_NODE && first.data.startsWith('\\n')) {
      first.data = '\\n' + first.data;
    }
  }
  const doctype = page.doctype ? new XMLSerializer().serializeToString(page.doctype) : '';
  const html = doctype + (page.documentElement ? page.documentElement.outerHTML : '');
  const contextRead = window.ota.contextRead;
  page.replaceChildren(); // an idle tab holds no page
  window.ota = null;
  return { html, contextRead };
}"""
