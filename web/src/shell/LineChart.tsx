import { Group, Text } from '@mantine/core';

interface ChartSeries {
  name: string;
  color: string;
  points: { at: string; value: number }[];
}

const WIDTH = 600;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };

const time = (iso: string) =>
  new Date(iso).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });

/**
 * A line per series over a shared time axis, in plain SVG: percentages from 0 to `max`. Lines
 * break nowhere: a gap in the data is drawn straight across, which is honest enough for a trend.
 */
export function LineChart({
  series,
  height = 160,
  max = 100,
  unit = '%',
  testId,
}: {
  series: ChartSeries[];
  height?: number;
  max?: number;
  unit?: string;
  testId?: string;
}) {
  const all = series.flatMap((s) => s.points.map((p) => Date.parse(p.at)));
  if (all.length === 0)
    return (
      <Text c="dimmed" size="sm" data-testid={testId}>
        No history in this range yet.
      </Text>
    );
  const from = Math.min(...all);
  const to = Math.max(...all);
  const span = Math.max(to - from, 1);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = height - PAD.top - PAD.bottom;
  const x = (iso: string) => PAD.left + ((Date.parse(iso) - from) / span) * plotWidth;
  const y = (value: number) => PAD.top + plotHeight - (Math.min(value, max) / max) * plotHeight;
  return (
    <div data-testid={testId}>
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        width="100%"
        role="img"
        aria-label={series.map((s) => s.name).join(', ')}
      >
        {[0, 0.5, 1].map((share) => (
          <g key={share}>
            <line
              x1={PAD.left}
              x2={WIDTH - PAD.right}
              y1={y(max * share)}
              y2={y(max * share)}
              stroke="var(--mantine-color-gray-3)"
              strokeDasharray={share === 0 ? undefined : '3 3'}
            />
            <text x={PAD.left - 4} y={y(max * share) + 4} fontSize="10" textAnchor="end" fill="currentColor">
              {`${max * share}${unit}`}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={height - 4} fontSize="10" fill="currentColor">
          {time(new Date(from).toISOString())}
        </text>
        <text x={WIDTH - PAD.right} y={height - 4} fontSize="10" textAnchor="end" fill="currentColor">
          {time(new Date(to).toISOString())}
        </text>
        {series.map((s) => (
          <g key={s.name} data-series={s.name}>
            <title>{s.name}</title>
            <polyline
              fill="none"
              stroke={s.color}
              strokeWidth={1.5}
              points={s.points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}
            />
            {/* a lone point draws no line: a dot shows it */}
            {s.points.length === 1 && (
              <circle cx={x(s.points[0]!.at)} cy={y(s.points[0]!.value)} r={3} fill={s.color} />
            )}
          </g>
        ))}
      </svg>
      <Group gap="md">
        {series.map((s) => (
          <Group key={s.name} gap={4}>
            <svg width="12" height="4" aria-hidden>
              <rect width="12" height="4" fill={s.color} />
            </svg>
            <Text size="xs">{s.name}</Text>
          </Group>
        ))}
      </Group>
    </div>
  );
}
