// Rendering content packs into DOM nodes, shared by the reader and popup.
//
// Everything is built with createElement/textContent: pack text is data and is
// never parsed as HTML.

// el('p', {class: 'x', dataset: {a: 1}}, 'text', child) -> HTMLElement
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function renderRuns(parent, runs) {
  for (const run of runs) {
    if (run.quote) parent.append(el('q', { class: 'quotation' }, run.text));
    else parent.append(document.createTextNode(run.text));
  }
  return parent;
}

function renderList(items) {
  const list = el('ul');
  for (const item of items) {
    const li = renderRuns(el('li'), item.runs);
    if (item.children) {
      li.classList.add('has-children');
      li.append(renderList(item.children));
    }
    list.append(li);
  }
  return list;
}

export function renderBlock(block) {
  switch (block.type) {
    case 'paragraph':
      return renderRuns(el('p'), block.runs);
    case 'quote':
      return el('blockquote', { class: 'quotation-block' }, renderRuns(el('p'), block.runs));
    case 'list':
      return renderList(block.items);
    default:
      return null;
  }
}

export function runsText(runs) {
  return runs.map((r) => r.text).join('');
}

// The reading units: each part's introduction (titled with the part) and each
// heading inside a part. Notes, bookmarks and navigation work on these.
export function buildSections(pack) {
  const sections = [];
  for (const part of pack.parts) {
    let current = { id: part.id, title: part.title, level: 2, partId: part.id, partTitle: part.title, blocks: [] };
    sections.push(current);
    for (const block of part.blocks) {
      if (block.type === 'heading') {
        current = { id: block.id, title: block.text, level: 3, partId: part.id, partTitle: part.title, blocks: [] };
        sections.push(current);
      } else {
        current.blocks.push(block);
      }
    }
  }
  return sections;
}

// Plain text of a pack, for search indexes and tests.
export function blockText(block) {
  if (block.type === 'heading') return block.text;
  if (block.type === 'list') {
    const walk = (items) => items.map((i) => [runsText(i.runs), ...(i.children ? [walk(i.children)] : [])].join('\n')).join('\n');
    return walk(block.items);
  }
  return runsText(block.runs);
}

const kBlockSelector = 'p, li, h1, h2, h3, h4, figcaption, dd, dt';

// Text nodes whose nearest block ancestor is `block` (so a list item does not
// swallow the text of its nested items).
function ownTextNodes(block) {
  const nodes = [];
  const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement?.closest(kBlockSelector) === block && !n.parentElement.closest('.no-mark')) nodes.push(n);
  }
  return nodes;
}

// Wraps every case-insensitive occurrence of `needle` under `root` in
// <mark class=className>, also across inline boundaries such as quotations.
// Returns one array of marks per match, in document order.
export function markText(root, needle, className, { limit = Infinity } = {}) {
  const query = needle.trim().toLocaleLowerCase();
  if (!query) return [];
  const matches = [];
  for (const block of root.querySelectorAll(kBlockSelector)) {
    if (block.closest('.no-mark')) continue;
    if (matches.length >= limit) break;
    const nodes = ownTextNodes(block);
    if (nodes.length === 0) continue;
    const starts = [];
    let text = '';
    for (const n of nodes) {
      starts.push(text.length);
      text += n.data;
    }
    const lower = text.toLocaleLowerCase();
    const found = [];
    for (let at = lower.indexOf(query); at >= 0 && matches.length + found.length < limit; at = lower.indexOf(query, at + query.length)) {
      found.push([at, at + query.length]);
    }
    // Wrap from the end so earlier offsets stay valid while nodes are split.
    const wrapped = [];
    for (let f = found.length - 1; f >= 0; f--) {
      const [start, end] = found[f];
      const marks = [];
      for (let i = nodes.length - 1; i >= 0; i--) {
        const nodeStart = starts[i];
        const nodeEnd = nodeStart + nodes[i].data.length;
        if (nodeEnd <= start || nodeStart >= end) continue;
        let target = nodes[i];
        const from = Math.max(start, nodeStart) - nodeStart;
        const to = Math.min(end, nodeEnd) - nodeStart;
        if (to < target.data.length) target.splitText(to);
        if (from > 0) target = target.splitText(from);
        const mark = el('mark', { class: className });
        target.replaceWith(mark);
        mark.append(target);
        marks.unshift(mark);
      }
      wrapped.unshift(marks);
    }
    matches.push(...wrapped);
  }
  return matches;
}

export function unmarkText(root, className) {
  const parents = new Set();
  for (const mark of root.querySelectorAll(`mark.${className}`)) {
    parents.add(mark.parentNode);
    mark.replaceWith(...mark.childNodes);
  }
  for (const parent of parents) parent.normalize();
}
