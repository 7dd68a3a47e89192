// ota's built-in filters, for pages whose filters run in the browser (ota/fetch/jsfilters.py).
//
// They behave as their Python twins in ota/extract/filters.py, which OTA ships as "exposed
// filters". Unlike a service's filters, they are always called as
// `filter(document, parameters, context)`, `parameters` being undefined when the declaration
// names the filter alone, so that they read their parameters exactly as the Python ones do.

// Keep in step with DEFAULT_TRACKING_QUERY_PARAMS in ota/extract/filters.py.
const DEFAULT_TRACKING_QUERY_PARAMS = Object.freeze([
  'fbclid', 'gclid', 'msclkid', 'mc_eid', 'dclid', 'oly_anon_id', 'oly_enc_id', '_openstat',
  'vero_conv', 'vero_id', 'wickedid', 'yclid', '__s', 'rb_clickid', 's_cid', 'ml_subscriber',
  'ml_subscriber_hash', '_hsenc', '__hssc', '__hstc', '__hsfp', 'hsCtaTracking', 'mkt_tok',
]);

// Deletes the named query parameters (by default, common tracking ones) from every `a[href]` and
// `img[src]`; an attribute is rewritten only when one of them was there.
export function removeQueryParams(document, parameters) {
  let names = parameters ?? DEFAULT_TRACKING_QUERY_PARAMS;
  if (typeof names === 'string') {
    names = [names];
  }
  if (!names || !names.length) {
    return;
  }
  for (const element of document.querySelectorAll('a[href], img[src]')) {
    const isLink = element.localName === 'a';
    let url;
    try {
      // The resolved URL: against the page's URL and its <base>, as the DOM resolves it.
      url = new URL(isLink ? element.href : element.src);
    } catch {
      continue; // a link the URL parser refuses is left as it is
    }
    if (!names.some(name => url.searchParams.has(name))) {
      continue;
    }
    for (const name of names) {
      url.searchParams.delete(name);
    }
    element.setAttribute(isLink ? 'href' : 'src', url.href);
  }
}

const SPACE_SEPARATORS = /\p{Zs}/gu;

// Replaces every Unicode space separator (no-break, thin, ideographic… spaces) by a plain space in
// the text of the body.
export function convertSpacesToStandard(document) {
  const walker = document.createTreeWalker(document.body, 4 /* NodeFilter.SHOW_TEXT */);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    const standard = text.replace(SPACE_SEPARATORS, ' ');
    if (standard !== text) {
      node.nodeValue = standard;
    }
  }
}
