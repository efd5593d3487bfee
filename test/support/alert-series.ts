import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** One series an alert rule selects: its metric and the label values it matches (regex alternatives split). */
export interface SelectedSeries {
  alert: string;
  metric: string;
  labels: Record<string, string>;
}

// Labels Prometheus adds at scrape time, not the app.
const TARGET_LABELS = new Set(['job', 'instance']);

/**
 * The series the rules in `file` select by label value: `name{label="v"}` gives one,
 * `name{label=~"a|b"}` one per alternative. Negative matchers select nothing in particular.
 */
export function alertSeries(file: string): SelectedSeries[] {
  const { groups } = parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const selected: SelectedSeries[] = [];
  for (const { alert, expr } of groups.flatMap((group) => group.rules)) {
    for (const [, metric, matchers] of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
      const wanted = [...matchers!.matchAll(/(\w+)\s*(=~|=)\s*"([^"]*)"/g)].filter(([, label]) => !TARGET_LABELS.has(label!));
      let sets: Record<string, string>[] = [{}];
      for (const [, label, operator, value] of wanted) {
        const values = operator === '=~' ? value!.split('|') : [value!];
        sets = sets.flatMap((set) => values.map((one) => ({ ...set, [label!]: one })));
      }
      if (wanted.length > 0) for (const labels of sets) selected.push({ alert, metric: metric!, labels });
    }
  }
  return selected;
}
