/** Where each point of a sparkline goes, in a `width` × `height` box whose top is `max`. */
export function sparkPoints(values: readonly number[], max: number, width: number, height: number): string {
  if (values.length === 0 || max <= 0) return '';
  const step = values.length === 1 ? 0 : width / (values.length - 1);
  return values
    .map((v, i) => {
      const y = height - (Math.min(v, max) / max) * height;
      return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/**
 * A sparkline of `values` with a dashed line at `budget` (e.g. sweep durations against the 5 s
 * interval): the scale leaves room above the budget, and values over it are drawn at the top in red.
 */
export function Sparkline({
  values,
  budget,
  label,
  width = 240,
  height = 48,
}: {
  values: readonly number[];
  budget: number;
  label: string;
  width?: number;
  height?: number;
}) {
  const max = Math.max(budget * 1.25, ...values);
  const budgetY = height - (budget / max) * height;
  const over = values.some((v) => v > budget);
  return (
    <svg role="img" aria-label={label} width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
      <line
        x1={0}
        x2={width}
        y1={budgetY}
        y2={budgetY}
        stroke="#c9190b"
        strokeDasharray="4 3"
        strokeWidth={1}
      />
      <polyline
        points={sparkPoints(values, max, width, height)}
        fill="none"
        stroke={over ? '#c9190b' : '#0066cc'}
        strokeWidth={1.5}
      />
    </svg>
  );
}
