/**
 * `emu test --reporter junit`: the JUnit XML that CI servers read, valid against the common Ant and
 * Jenkins JUnit schemas (Ant's JUnit.xsd, Jenkins xunit's junit-10.xsd): testsuites (name, counts and
 * time only: junit-10 allows no more), one testsuite with its counts, skipped, time, timestamp (Ant's
 * pattern), hostname, id and package, its properties and system-out/system-err (Ant requires them);
 * each scenario a testcase (classname: its folder, and its file, which Jenkins, GitLab and pytest's
 * reports carry) with a failure (golden or expectations) or an error (bad input). This file is the one
 * output that holds wall-clock times; it is no golden and no trace.
 */
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { shownPath, unusedMessage, type UnusedGolden } from '../harness/names.js';
import { entryName, type SuiteEntry } from '../harness/suite.js';
import type { CheckResult } from '../harness/check.js';
import { describeFirstDifference } from '../report/diff.js';
import { describeVerdict } from './run.js';

/** A finished `emu test`, as its reports are made from it. */
export interface SuiteRun {
  entries: SuiteEntry[];
  unused: UnusedGolden[];
  /** When it started (the JUnit timestamp) and how long it took, by the wall clock. */
  started: Date;
  seconds: number;
  shard: string | undefined;
}

/** What a failed scenario failed on: the `type` of its JUnit failure, and its one-line message. */
export interface FailureKind {
  type: 'golden-mismatch' | 'missing-golden' | 'unpaired-golden' | 'failed-expectation' | 'unused-golden';
  message: string;
}

/** Why a scenario failed, the golden first (it decides), then its expectations. */
export function failureOf(c: CheckResult): FailureKind {
  const golden = shownPath(c.goldenPath);
  const more = c.expectationFailures.length > 0 ? `; and ${c.expectationFailures.length} failed expectation(s)` : '';
  switch (c.golden) {
    case 'mismatch':
      return { type: 'golden-mismatch', message: `golden mismatch (${golden}): ${c.comparison?.first ? describeFirstDifference(c.comparison.first) : 'the summary metrics differ'}${more}` };
    case 'missing':
      return { type: 'missing-golden', message: `missing golden ${golden}${more}` };
    case 'unpaired':
      return { type: 'unpaired-golden', message: `golden ${golden} and its .md summary do not pair${more}` };
    default: {
      const [first, ...rest] = c.expectationFailures;
      return { type: 'failed-expectation', message: `failed expectation: ${first}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}` };
    }
  }
}

export function junitReport({ entries, unused, started, seconds, shard }: SuiteRun): string {
  const failures = entries.filter((e) => 'check' in e && !e.check.passed).length + unused.length;
  const errors = entries.filter((e) => 'inputError' in e).length;
  const counts = `tests="${entries.length + unused.length}" failures="${failures}" errors="${errors}"`;
  const time = `time="${secondsText(seconds)}"`;
  const cases = entries.map(testcase);
  for (const u of unused) {
    const failure = element('failure', { message: unusedMessage(u), type: 'unused-golden' }, 'emu deletes no golden: if a scenario was renamed, remove or rename its old goldens with it');
    cases.push(`    <testcase ${attributes({ classname: shownPath(dirname(u.path)), name: u.path, file: u.path, time: '0.000' })}>\n      ${failure}\n    </testcase>`);
  }
  const properties = shard ? `    <properties>\n      <property name="shard" value="${xml(shard)}"/>\n    </properties>` : '    <properties/>';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="emu" ${counts} ${time}>`,
    `  <testsuite name="emu" id="0" package="emu" hostname="${xml(hostname() || 'localhost')}" ${counts} skipped="0" ${time} timestamp="${timestamp(started)}">`,
    properties,
    ...cases,
    '    <system-out/>',
    '    <system-err/>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function testcase(e: SuiteEntry): string {
  const open = `    <testcase ${attributes({ classname: shownPath(dirname(e.file)) || '.', name: entryName(e), file: shownPath(e.file), time: secondsText(e.seconds) })}`;
  if ('inputError' in e) return `${open}>\n      ${element('error', { message: e.inputError, type: 'input-error' }, e.inputError)}\n    </testcase>`;
  if (e.check.passed) return `${open}/>`;
  return `${open}>\n      ${element('failure', failureOf(e.check), describeVerdict(e.check))}\n    </testcase>`;
}

function element(tag: string, attrs: { message: string; type: string }, body: string): string {
  return `<${tag} ${attributes(attrs)}>${xml(body, false)}</${tag}>`;
}

function attributes(attrs: Record<string, string>): string {
  return Object.entries(attrs).map(([key, value]) => `${key}="${xml(value)}"`).join(' ');
}

/** Seconds with millisecond digits, as JUnit's xs:decimal time. */
function secondsText(seconds: number): string {
  return seconds.toFixed(3);
}

/** When the run started, in UTC to the second: Ant's pattern has no time zone (yyyy-mm-ddThh:mm:ss). */
function timestamp(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/**
 * Text as XML: the five escapes, the control characters XML 1.0 forbids dropped, and in an attribute
 * newlines and tabs as character references (a parser would turn them into spaces).
 */
function xml(s: string, attribute = true): string {
  const text = s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
  return attribute ? text.replace(/\n/g, '&#10;').replace(/\t/g, '&#9;').replace(/\r/g, '&#13;') : text;
}
