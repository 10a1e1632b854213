/**
 * The rules of the common JUnit XML schemas, checked on a parsed document: Ant's JUnit.xsd (which
 * requires a testsuite's timestamp, hostname, id and package, its properties, system-out and
 * system-err, and a failure's or error's type) and Jenkins xunit's junit-10.xsd (which allows
 * testsuites only name, time, tests, failures and errors, and a testsuite skipped). The one attribute
 * neither declares is a testcase's `file`, which Jenkins' JUnit plugin, GitLab and pytest read.
 * Returns every rule broken, as `where: what`; an empty list is a valid report.
 */
import { DOMParser, ParseError, type Element } from '@xmldom/xmldom';

const INT = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;
/** Ant's ISO8601_DATETIME_PATTERN: no fraction, no time zone. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

const ALLOWED: Record<string, string[]> = {
  testsuites: ['name', 'time', 'tests', 'failures', 'errors'],
  testsuite: ['name', 'tests', 'failures', 'errors', 'skipped', 'time', 'timestamp', 'hostname', 'id', 'package', 'group', 'file', 'log', 'url'],
  testcase: ['name', 'classname', 'time', 'group', 'file'],
  failure: ['message', 'type'],
  error: ['message', 'type'],
  skipped: ['message', 'type'],
  property: ['name', 'value'],
  properties: [],
  'system-out': [],
  'system-err': [],
};

export interface JunitCase {
  classname: string;
  name: string;
  file: string;
  time: string;
  /** The failure or error in it, if any. */
  problem: { tag: 'failure' | 'error'; type: string; message: string; text: string } | null;
}

/** Parses a JUnit report; `errors` lists the XML errors (not well-formed) and the schema rules broken. */
export function checkJunit(text: string): { errors: string[]; cases: JunitCase[]; suite: Record<string, string> } {
  const errors: string[] = [];
  let root: Element | null = null;
  try {
    root = new DOMParser({ onError: (level, message) => errors.push(`xml ${level}: ${message}`) }).parseFromString(text, 'text/xml').documentElement;
  } catch (e) {
    // A fatal error stops the parse (not well-formed): it is in `errors` already.
    if (!(e instanceof ParseError)) throw e;
    return { errors, cases: [], suite: {} };
  }
  if (!root || root.tagName !== 'testsuites') return { errors: [...errors, `root: expected testsuites, got ${root?.tagName}`], cases: [], suite: {} };
  checkAttributes(root, errors, [], { time: DECIMAL, tests: INT, failures: INT, errors: INT });
  const suites = children(root);
  if (suites.length === 0 || suites.some((s) => s.tagName !== 'testsuite')) errors.push('testsuites: expected testsuite children only');
  const cases: JunitCase[] = [];
  const total = { tests: 0, failures: 0, errors: 0 };
  suites.forEach((suite, i) => {
    const where = `testsuite ${i}`;
    checkAttributes(suite, errors, ['name', 'tests', 'failures', 'errors', 'skipped', 'time', 'timestamp', 'hostname', 'id', 'package'], {
      tests: INT,
      failures: INT,
      errors: INT,
      skipped: INT,
      time: DECIMAL,
      timestamp: TIMESTAMP,
      id: INT,
    });
    const tags = children(suite).map((c) => c.tagName);
    // Ant's sequence: properties, testcase*, system-out, system-err.
    const order = tags.map((t) => ['properties', 'testcase', 'system-out', 'system-err'].indexOf(t));
    if (tags[0] !== 'properties' || tags.at(-2) !== 'system-out' || tags.at(-1) !== 'system-err' || order.some((o, j) => o < 0 || (j > 0 && o < order[j - 1])) || tags.filter((t) => t !== 'testcase').length !== 3) {
      errors.push(`${where}: children must be properties, testcase..., system-out, system-err; got ${tags.join(', ')}`);
    }
    for (const property of children(suite).filter((c) => c.tagName === 'properties').flatMap(children)) checkAttributes(property, errors, ['name', 'value'], {});
    const counted = { tests: 0, failures: 0, errors: 0 };
    for (const testcase of children(suite).filter((c) => c.tagName === 'testcase')) {
      counted.tests++;
      checkAttributes(testcase, errors, ['name', 'classname', 'time', 'file'], { time: DECIMAL });
      const inner = children(testcase);
      if (inner.length > 1 || inner.some((c) => c.tagName !== 'failure' && c.tagName !== 'error')) errors.push(`testcase ${testcase.getAttribute('name')}: at most one failure or error, got ${inner.map((c) => c.tagName).join(', ')}`);
      let problem: JunitCase['problem'] = null;
      for (const p of inner) {
        checkAttributes(p, errors, ['message', 'type'], {});
        if (p.tagName === 'failure') counted.failures++;
        if (p.tagName === 'error') counted.errors++;
        problem = { tag: p.tagName as 'failure' | 'error', type: p.getAttribute('type') ?? '', message: p.getAttribute('message') ?? '', text: p.textContent ?? '' };
      }
      const attr = (name: string) => testcase.getAttribute(name) ?? '';
      cases.push({ classname: attr('classname'), name: attr('name'), file: attr('file'), time: attr('time'), problem });
    }
    for (const key of ['tests', 'failures', 'errors'] as const) {
      if (Number(suite.getAttribute(key)) !== counted[key]) errors.push(`${where}: ${key}="${suite.getAttribute(key)}" but ${counted[key]} counted`);
      total[key] += counted[key];
    }
  });
  for (const key of ['tests', 'failures', 'errors'] as const) {
    if (root.hasAttribute(key) && Number(root.getAttribute(key)) !== total[key]) errors.push(`testsuites: ${key}="${root.getAttribute(key)}" but ${total[key]} counted`);
  }
  const suite = Object.fromEntries(Array.from(suites[0]?.attributes ?? []).map((a) => [a.name, a.value]));
  return { errors, cases, suite };
}

function children(element: Element): Element[] {
  return Array.from(element.childNodes).filter((n): n is Element => n.nodeType === 1);
}

/** Required attributes present and not empty, typed ones matching, and none the schemas do not know. */
function checkAttributes(element: Element, errors: string[], required: string[], typed: Record<string, RegExp>): void {
  const where = `${element.tagName}${element.getAttribute('name') ? ` ${element.getAttribute('name')}` : ''}`;
  const allowed = ALLOWED[element.tagName];
  if (!allowed) errors.push(`${where}: no such element in the schemas`);
  for (const attribute of Array.from(element.attributes)) {
    if (allowed && !allowed.includes(attribute.name)) errors.push(`${where}: attribute ${attribute.name} is not in the schemas`);
  }
  for (const name of required) if (!element.getAttribute(name)) errors.push(`${where}: missing ${name}`);
  for (const [name, pattern] of Object.entries(typed)) {
    const value = element.getAttribute(name);
    if (value !== null && !pattern.test(value)) errors.push(`${where}: ${name}="${value}" does not match ${pattern}`);
  }
}
