import { useComputedColorScheme } from '@mantine/core';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import { languageSupport, schemeTheme } from './codemirrorSetup';
import type { ScriptLanguage } from './queries';

/** Read-only state and a content that cannot be focused for typing: no caret where nothing may change. */
function readOnlyExtension(readOnly: boolean): Extension {
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  language: ScriptLanguage;
  label: string;
  readOnly?: boolean;
}

/**
 * CodeMirror 6 over a controlled value: the view is made once, and a change of language,
 * colour scheme or read-only swaps its compartment rather than rebuilding it (which would lose
 * the cursor and the undo history). A value set from outside (a script loaded) replaces the text.
 * Loaded lazily: its own chunk, kept off the sign-in page.
 */
export default function CodeEditor({ value, onChange, language, label, readOnly = false }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const compartments = useRef({
    language: new Compartment(),
    theme: new Compartment(),
    readOnly: new Compartment(),
  });
  const dark = useComputedColorScheme('light') === 'dark';

  useEffect(() => {
    if (!host.current) return;
    const { current: parts } = compartments;
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          parts.language.of(languageSupport(language)),
          parts.theme.of(schemeTheme(dark)),
          parts.readOnly.of(readOnlyExtension(readOnly)),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChangeRef.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // made once: the effects below follow the props
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: compartments.current.language.reconfigure(languageSupport(language)) });
  }, [language]);
  useEffect(() => {
    view.current?.dispatch({ effects: compartments.current.theme.reconfigure(schemeTheme(dark)) });
  }, [dark]);
  useEffect(() => {
    view.current?.dispatch({
      effects: compartments.current.readOnly.reconfigure(readOnlyExtension(readOnly)),
    });
  }, [readOnly]);
  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value)
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
  }, [value]);

  return <div ref={host} data-testid="code-editor" />;
}
