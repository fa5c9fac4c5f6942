/* The search index loads when the reader turns to search, not with every page.
 *
 * mkdocs-material requests search/search_index.json (over http) or adds a <script> for
 * search/search_index.js (from file://, written by the offline plugin) as soon as a page opens,
 * and builds the search index from it; from file:// that work runs on the page's own thread.
 * This script, loaded just before the theme's, holds those two requests back until the reader
 * moves to the search box, focuses it (click, tap, or the theme's "/" and "s" keys) or arrives
 * from a search result (?h=...: the theme highlights the words). Nothing else changes: if the
 * theme ever loads its index another way, this simply never matches and search loads as before.
 */
(function () {
  "use strict";
  var INDEX = /\/search\/search_index\.(js|json)(\?|$)/;
  var wanted = /[?&]h=/.test(location.search), waiting = [];

  function want() {
    if (wanted) { return; }
    wanted = true;
    waiting.splice(0).forEach(function (go) { go(); });
  }
  function later(go) { if (wanted) { go(); } else { waiting.push(go); } }

  var inSearch = function (event) {
    var t = event.target;
    return t && t.closest && t.closest('.md-search, label[for="__search"]');
  };
  ["focusin", "pointerover", "pointerdown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function (event) { if (inSearch(event)) { want(); } },
                              { capture: true, passive: true });
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "__search") { want(); }
  }, true);

  // Over http: the theme requests the JSON index with XMLHttpRequest.
  var XHR = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
  if (XHR) {
    var open = XHR.open, send = XHR.send;
    XHR.open = function (method, url) {
      this.searchIndex = INDEX.test(String(url));
      return open.apply(this, arguments);
    };
    XHR.send = function () {
      var xhr = this, args = arguments;
      if (!wanted && xhr.searchIndex) {
        later(function () { send.apply(xhr, args); });
        return undefined;
      }
      return send.apply(this, arguments);
    };
  }

  // From file://: the theme adds <script src=".../search_index.js"> to the <head>.
  var head = document.head, append = head.appendChild;
  head.appendChild = function (node) {
    if (!wanted && node && node.tagName === "SCRIPT" && INDEX.test(node.src || "")) {
      later(function () { append.call(head, node); });
      return node;
    }
    return append.apply(this, arguments);
  };
})();
