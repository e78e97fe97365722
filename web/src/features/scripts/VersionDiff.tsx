import { MergeView } from '@codemirror/merge';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';
import { useComputedColorScheme } from '@mantine/core';
import { useEffect, useRef } from 'react';
import { languageSupport, schemeTheme } from './codemirrorSetup';
import type { ScriptLanguage } from './queries';

export interface VersionDiffProps {
  before: string;
  after: string;
  language: ScriptLanguage;
}

/** Two texts side by side, changed lines marked (read-only). Loaded lazily: its own chunk. */
export default function VersionDiff({ before, after, language }: VersionDiffProps) {
  const host = useRef<HTMLDivElement>(null);
  const dark = useComputedColorScheme('light') === 'dark';

  useEffect(() => {
    if (!host.current) return;
    const extensions: Extension[] = [
      lineNumbers(),
      languageSupport(language),
      schemeTheme(dark),
      EditorState.readOnly.of(true),
      EditorView.editable.of(false),
    ];
    const view = new MergeView({
      parent: host.current,
      a: { doc: before, extensions },
      b: { doc: after, extensions },
      collapseUnchanged: { margin: 3, minSize: 6 },
    });
    return () => view.destroy();
  }, [before, after, language, dark]);

  return <div ref={host} data-testid="version-diff" />;
}
