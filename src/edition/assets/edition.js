// The web edition's behaviour. The page works without it (reading view, notes at the end);
// with it: the view switch, notes that open in place, "cite" buttons, Escape closes tooltips.
// No network, no inline handlers (the page's Content-Security-Policy forbids them).
(function () {
  "use strict";
  var root = document.documentElement;
  var main = document.querySelector("main") || document.body;
  var STORAGE_KEY = "edition.view";

  // ---- a polite live region: says "copied" and the like to screen readers
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  main.appendChild(status);
  function announce(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // ---- the view switch: reading (default) or diplomatic, remembered across reloads
  function storedView() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null; // storage may be disabled; the switch still works for this visit
    }
  }
  function setView(view, remember) {
    if (view !== "reading" && view !== "diplomatic") view = "reading";
    root.setAttribute("data-view", view);
    var radios = document.querySelectorAll('.view-switch input[name="view"]');
    for (var i = 0; i < radios.length; i++) radios[i].checked = radios[i].value === view;
    if (remember) {
      try {
        window.localStorage.setItem(STORAGE_KEY, view);
      } catch (error) { /* not remembered: fine */ }
    }
  }
  var switcher = document.querySelector(".view-switch");
  if (switcher) {
    switcher.hidden = false;
    switcher.addEventListener("change", function (event) {
      if (event.target && event.target.name === "view") setView(event.target.value, true);
    });
  }
  setView(storedView() || "reading", false);

  // ---- notes open in place: one popover, filled from the note list at the end
  var popover = document.createElement("div");
  popover.id = "note-popover";
  popover.className = "note-popover";
  popover.setAttribute("role", "dialog");
  popover.setAttribute("aria-modal", "false");
  popover.hidden = true;
  main.appendChild(popover);
  var openedFrom = null;

  function closeNote(returnFocus) {
    if (popover.hidden) return;
    popover.hidden = true;
    popover.textContent = "";
    if (openedFrom) {
      openedFrom.setAttribute("aria-expanded", "false");
      if (returnFocus) openedFrom.focus();
    }
    openedFrom = null;
  }

  function openNote(ref) {
    var id = decodeURIComponent(ref.getAttribute("href").slice(1));
    var item = document.getElementById(id);
    if (!item) return false;
    closeNote(false);
    var label = ref.textContent.trim();
    popover.setAttribute("aria-label", "Note " + label);
    var heading = document.createElement("p");
    heading.className = "note-popover-label";
    heading.textContent = "Note " + label;
    popover.appendChild(heading);
    var body = item.cloneNode(true);
    body.removeAttribute("id");
    var ids = body.querySelectorAll("[id]");
    for (var i = 0; i < ids.length; i++) ids[i].removeAttribute("id");
    var back = body.querySelector(".backlink");
    if (back) back.remove();
    var content = document.createElement("div");
    content.className = "note-popover-body";
    while (body.firstChild) content.appendChild(body.firstChild);
    popover.appendChild(content);
    var actions = document.createElement("p");
    actions.className = "note-popover-actions";
    var toList = document.createElement("a");
    toList.href = "#" + id;
    toList.textContent = "Show in the list of notes";
    toList.addEventListener("click", function () { closeNote(false); });
    actions.appendChild(toList);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "note-popover-close";
    close.textContent = "Close";
    close.addEventListener("click", function () { closeNote(true); });
    actions.appendChild(close);
    popover.appendChild(actions);
    // place it below the reference, inside the viewport
    var rect = ref.getBoundingClientRect();
    popover.hidden = false;
    var width = Math.min(popover.offsetWidth, window.innerWidth - 16);
    var left = Math.max(8, Math.min(rect.left + window.scrollX - width / 2,
                                    window.scrollX + window.innerWidth - width - 8));
    popover.style.left = left + "px";
    popover.style.top = rect.bottom + window.scrollY + 6 + "px";
    openedFrom = ref;
    ref.setAttribute("aria-expanded", "true");
    toList.focus({ preventScroll: true });
    var box = popover.getBoundingClientRect();
    if (box.bottom > window.innerHeight) popover.scrollIntoView({ block: "nearest" });
    return true;
  }

  var refs = document.querySelectorAll("a.noteref");
  for (var r = 0; r < refs.length; r++) {
    refs[r].setAttribute("aria-expanded", "false");
    refs[r].setAttribute("aria-controls", "note-popover");
    refs[r].addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return; // open in list / new tab
      if (openedFrom === event.currentTarget) {
        event.preventDefault();
        closeNote(true);
        return;
      }
      if (openNote(event.currentTarget)) event.preventDefault();
    });
  }
  document.addEventListener("click", function (event) {
    if (!popover.hidden && !popover.contains(event.target) &&
        !(event.target.closest && event.target.closest("a.noteref"))) {
      closeNote(false);
    }
  });
  // Tab past either end of the open note goes back to its reference (it is not modal).
  popover.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") return;
    var focusable = popover.querySelectorAll("a[href], button");
    if (!focusable.length) return;
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if ((event.shiftKey && document.activeElement === first) || (!event.shiftKey && document.activeElement === last)) {
      event.preventDefault();
      closeNote(true);
    }
  });

  // ---- tooltips of interventions: kept inside the viewport; Escape hides them
  function placeTips() {
    var tips = document.querySelectorAll(".iv > .tip");
    for (var i = 0; i < tips.length; i++) {
      var tip = tips[i];
      if (!tip.getClientRects().length || window.getComputedStyle(tip).position !== "absolute") continue;
      tip.style.left = "";
      var box = tip.getBoundingClientRect();
      var shift = Math.min(0, window.innerWidth - 8 - box.right);
      shift = Math.max(shift, 8 - box.left);
      if (shift) tip.style.left = shift + "px";
    }
  }
  function soon() { window.requestAnimationFrame(placeTips); }
  document.addEventListener("mouseover", function (event) {
    if (event.target.closest && event.target.closest(".iv")) soon();
  });
  document.addEventListener("focusin", soon);

  function tipHolders() {
    var holders = Array.prototype.slice.call(document.querySelectorAll(".iv:hover"));
    var active = document.activeElement;
    if (active && active.closest) {
      var holder = active.closest(".iv");
      if (!holder && active.matches("a") && active.querySelector(".iv")) holder = active;
      if (holder) holders.push(holder);
    }
    return holders;
  }

  // ---- Escape closes the open note, or hides the tooltip that shows
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (!popover.hidden) {
      closeNote(true);
      return;
    }
    var holders = tipHolders();
    for (var i = 0; i < holders.length; i++) holders[i].classList.add("tip-dismissed");
  });
  document.addEventListener("focusout", function (event) {
    var holder = event.target && event.target.closest ? event.target.closest(".tip-dismissed") : null;
    if (holder) holder.classList.remove("tip-dismissed");
  });
  document.addEventListener("mouseout", function (event) {
    var holder = event.target && event.target.closest ? event.target.closest(".tip-dismissed") : null;
    if (holder && !(event.relatedTarget && holder.contains(event.relatedTarget)) && holder !== document.activeElement) {
      holder.classList.remove("tip-dismissed");
    }
  });

  // ---- the print edition's pages a paragraph is on ("p. 8, " or "pp. 8–9, "), from the
  // page markers the build placed where each print page begins
  var markers = document.querySelectorAll(".page-marker");
  function atStart(paragraph, marker) {
    // nothing but the paragraph number before the marker: the page begins with the paragraph
    var range = document.createRange();
    range.setStart(paragraph, 0);
    range.setEndBefore(marker);
    var number = paragraph.querySelector(".pnum");
    var before = range.toString().trim();
    return !before || (number !== null && before === number.textContent.trim());
  }
  function printPages(paragraph) {
    var first = null;
    var last = null;
    for (var m = 0; m < markers.length; m++) {
      var marker = markers[m];
      if (paragraph.contains(marker)) {
        last = marker.id.replace("page-", "");
        if (atStart(paragraph, marker)) first = last;
      } else if (paragraph.compareDocumentPosition(marker) & Node.DOCUMENT_POSITION_PRECEDING) {
        first = marker.id.replace("page-", "");
      }
    }
    if (first === null) first = last;
    if (first === null) return "";
    return last !== null && last !== first ? "pp. " + first + "–" + last + ", " : "p. " + first + ", ";
  }

  // ---- "cite" buttons: copy a citation of the paragraph with its URL
  var citation = document.getElementById("citation");
  var base = citation ? citation.textContent.trim().replace(/\.$/, "") : document.title;
  var numbers = document.querySelectorAll("a.pnum");
  for (var n = 0; n < numbers.length; n++) {
    (function (number) {
      var paragraph = number.parentElement;
      var label = number.textContent.trim();
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cite-button";
      button.textContent = "Cite";
      button.setAttribute("aria-label", "Cite paragraph " + label + " (copies a citation with its address)");
      button.addEventListener("click", function () {
        var url = window.location.href.split("#")[0] + "#" + paragraph.id;
        var text = base + ", " + printPages(paragraph) + "¶ " + label + ". " + url;
        var done = function () {
          button.textContent = "Copied";
          button.classList.add("copied");
          announce("Citation of paragraph " + label + " copied.");
          window.setTimeout(function () {
            button.textContent = "Cite";
            button.classList.remove("copied");
          }, 2000);
        };
        var ask = function () { window.prompt("Copy this citation:", text); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, ask);
        } else {
          ask();
        }
      });
      number.insertAdjacentElement("afterend", button);
    })(numbers[n]);
  }

  // ---- the how-to-cite line gains the page's own address
  if (citation && /^(https?|file):/.test(window.location.href)) {
    citation.textContent = base + ". " + window.location.href.split("#")[0];
  }
})();
