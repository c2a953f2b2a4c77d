// Jianjia work plan editor: add and remove rows (no inline scripts: the CSP forbids them).
// Rows come from <template> elements whose field names hold __S__ (section/slot index) and
// __J__ (row index inside it); the server sorts indices, so they only need to be unique.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form) { return; }

  function nextIndex(container) {
    var n = parseInt(container.dataset.next || "0", 10);
    container.dataset.next = String(n + 1);
    return n;
  }

  function fromTemplate(id, s, j) {
    var tpl = document.getElementById(id);
    var html = tpl.innerHTML.replace(/__S__/g, String(s)).replace(/__J__/g, String(j));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  form.addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button || !form.contains(button)) { return; }
    if (button.hasAttribute("data-remove")) {
      ev.preventDefault();
      var row = button.closest("[data-row]");
      if (row) { row.remove(); }
      return;
    }
    var kind = button.dataset.add;
    if (!kind) { return; }
    ev.preventDefault();
    var node;
    if (kind === "item" || kind === "activity") {
      var card = button.closest("[data-index]");
      var list = card.querySelector(kind === "item" ? ".plan-items" : ".plan-activities");
      node = fromTemplate(button.dataset.template, card.dataset.index, nextIndex(list));
      list.appendChild(node);
    } else {
      var container = document.getElementById(button.dataset.target);
      node = fromTemplate(button.dataset.template, nextIndex(container), 0);
      container.appendChild(node);
    }
    var field = node.querySelector("input:not([type=hidden]), textarea");
    if (field) { field.focus(); }
  });
})();
