import { python } from '@codemirror/lang-python';
import {
  defaultHighlightStyle,
  HighlightStyle,
  StreamLanguage,
  syntaxHighlighting,
} from '@codemirror/language';
import { powerShell } from '@codemirror/legacy-modes/mode/powershell';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import type { Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import type { ScriptLanguage } from './queries';

/**
 * What the code editors share, in the lazily loaded chunk only: highlighting per script
 * language and a light or dark look following the console's colour scheme.
 */
export function languageSupport(language: ScriptLanguage): Extension {
  switch (language) {
    case 'bash':
    case 'sh':
      return StreamLanguage.define(shell);
    case 'powershell':
      return StreamLanguage.define(powerShell);
    case 'python':
      return python();
    case 'cmd':
      // no cmd grammar ships with CodeMirror: plain text
      return [];
  }
}

const darkHighlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.controlKeyword, tags.operatorKeyword], color: '#c792ea' },
  { tag: [tags.string, tags.special(tags.string)], color: '#c3e88d' },
  { tag: [tags.number, tags.bool, tags.atom], color: '#f78c6c' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: '#7f8c98', fontStyle: 'italic' },
  { tag: [tags.variableName, tags.special(tags.variableName)], color: '#82aaff' },
  { tag: [tags.function(tags.variableName), tags.definition(tags.variableName)], color: '#ffcb6b' },
  { tag: [tags.standard(tags.variableName), tags.standard(tags.name)], color: '#89ddff' },
  { tag: tags.operator, color: '#89ddff' },
]);

const darkTheme = EditorView.theme(
  {
    '&': { backgroundColor: 'var(--mantine-color-dark-7)', color: 'var(--mantine-color-dark-0)' },
    '.cm-gutters': {
      backgroundColor: 'var(--mantine-color-dark-6)',
      color: 'var(--mantine-color-dark-2)',
      borderRight: '1px solid var(--mantine-color-dark-4)',
    },
    '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'rgba(255, 255, 255, 0.05)' },
    '&.cm-focused .cm-cursor': { borderLeftColor: 'var(--mantine-color-dark-0)' },
    '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
      backgroundColor: 'rgba(130, 170, 255, 0.3)',
    },
  },
  { dark: true },
);

const frame = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--mantine-color-default-border)', borderRadius: '4px' },
  '.cm-scroller': { fontFamily: 'var(--mantine-font-family-monospace)' },
  '.cm-content, .cm-gutter': { minHeight: '8em' },
});

export function schemeTheme(dark: boolean): Extension {
  return dark
    ? [frame, darkTheme, syntaxHighlighting(darkHighlight)]
    : [frame, syntaxHighlighting(defaultHighlightStyle)];
}
