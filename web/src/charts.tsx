import type { JSX } from "preact";
import { formatNumber, priceColor } from "./lib/format.ts";

const W = 320;
const H = 180;
const P = 30;

function scale(lo: number, hi: number, a: number, b: number) {
  const d = hi - lo || 1;
  return (v: number) => a + ((v - lo) / d) * (b - a);
}

export function LineChart(props: {
  title: string;
  series: { name: string; color: string; points: [number, number][] }[];
}): JSX.Element {
  const all = props.series.flatMap((s) => s.points).filter((p) => p.every(Number.isFinite));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = scale(x0, x1, P, W - 8);
  const sy = scale(y0, y1, H - 20, 10);
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        <strong>{props.title}</strong>{" "}
        {props.series.map((s) => (
          <span key={s.name} style={{ color: s.color, marginLeft: "0.5rem" }}>
            ■ {s.name}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={props.title}>
        {all.length === 0 ? (
          <text x={W / 2} y={H / 2} text-anchor="middle">
            no data yet
          </text>
        ) : (
          <>
            <line x1={P} y1={H - 20} x2={W - 8} y2={H - 20} stroke="#999" />
            <line x1={P} y1={10} x2={P} y2={H - 20} stroke="#999" />
            <text x={2} y={14}>
              {formatNumber(y1, 2)}
            </text>
            <text x={2} y={H - 22}>
              {formatNumber(y0, 2)}
            </text>
            <text x={P} y={H - 6}>
              {formatNumber(x0, 2)}
            </text>
            <text x={W - 8} y={H - 6} text-anchor="end">
              {formatNumber(x1, 2)}
            </text>
            {props.series.map((s) => (
              <g key={s.name}>
                <polyline
                  fill="none"
                  stroke={s.color}
                  stroke-width="2"
                  points={s.points
                    .filter((p) => p.every(Number.isFinite))
                    .map((p) => `${sx(p[0])},${sy(p[1])}`)
                    .join(" ")}
                />
                {s.points
                  .filter((p) => p.every(Number.isFinite))
                  .map((p) => (
                    <circle key={`${p[0]}`} cx={sx(p[0])} cy={sy(p[1])} r="2.5" fill={s.color} />
                  ))}
              </g>
            ))}
          </>
        )}
      </svg>
    </figure>
  );
}

export function BarChart(props: { title: string; bars: { label: string; value: number }[] }): JSX.Element {
  const max = Math.max(0, ...props.bars.map((b) => b.value));
  const rowH = 16;
  const h = props.bars.length * rowH + 10;
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        <strong>{props.title}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} width="100%" role="img" aria-label={props.title}>
        {props.bars.map((b, i) => (
          <g key={b.label}>
            <text x={0} y={i * rowH + 12}>
              {b.label.slice(0, 24)}
            </text>
            <rect
              x={130}
              y={i * rowH + 3}
              height={rowH - 5}
              width={max > 0 ? (b.value / max) * 140 : 0}
              fill="#3b6ea5"
            />
            <text x={W - 2} y={i * rowH + 12} text-anchor="end">
              {formatNumber(b.value, 3)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Training points (lat, lon, price) coloured by price, with the queried location marked. */
export function GeoScatter(props: {
  points: [number, number, number][];
  mark?: { lat: number; lon: number };
}): JSX.Element {
  const sx = scale(-124.5, -114, 6, 254);
  const sy = scale(32.4, 42.1, 274, 6);
  const prices = props.points.map((p) => p[2]);
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  return (
    <svg
      viewBox="0 0 260 280"
      width="260"
      height="280"
      role="img"
      aria-label="location on California training data"
    >
      <rect width="260" height="280" fill="#eef2f6" />
      {props.points.map(([lat, lon, price]) => (
        <circle
          key={`${lat},${lon},${price}`}
          cx={sx(lon)}
          cy={sy(lat)}
          r="1.3"
          fill={priceColor(price, lo, hi)}
          opacity="0.7"
        />
      ))}
      {props.mark && Number.isFinite(props.mark.lat) && Number.isFinite(props.mark.lon) && (
        <g>
          <circle
            cx={sx(props.mark.lon)}
            cy={sy(props.mark.lat)}
            r="7"
            fill="none"
            stroke="#000"
            stroke-width="2.5"
          />
          <circle cx={sx(props.mark.lon)} cy={sy(props.mark.lat)} r="2" fill="#000" />
        </g>
      )}
    </svg>
  );
}

/** x/y scatter with an optional reference line (y = x, or y = 0 for residuals). */
export function ScatterChart(props: {
  title: string;
  points: [number, number][];
  xLabel: string;
  yLabel: string;
  line?: "identity" | "zero";
}): JSX.Element {
  const pts = props.points.filter((p) => p.every(Number.isFinite));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (props.line === "identity") {
    x0 = y0 = Math.min(x0, y0);
    x1 = y1 = Math.max(x1, y1);
  }
  if (props.line === "zero") {
    const m = Math.max(Math.abs(y0), Math.abs(y1));
    [y0, y1] = [-m, m];
  }
  const sx = scale(x0, x1, P, W - 6);
  const sy = scale(y0, y1, H - 18, 6);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
        <line x1={P} y1={H - 18} x2={W - 6} y2={H - 18} stroke="#999" />
        <line x1={P} y1={6} x2={P} y2={H - 18} stroke="#999" />
        {props.line === "identity" && (
          <line x1={sx(x0)} y1={sy(y0)} x2={sx(x1)} y2={sy(y1)} stroke="#c62828" stroke-dasharray="4 3" />
        )}
        {props.line === "zero" && (
          <line x1={P} y1={sy(0)} x2={W - 6} y2={sy(0)} stroke="#c62828" stroke-dasharray="4 3" />
        )}
        {pts.map(([x, y], i) => (
          <circle key={i} cx={sx(x)} cy={sy(y)} r="1.4" fill="#3b6ea5" opacity="0.45" />
        ))}
        <text x={W - 6} y={H - 4} text-anchor="end">
          {props.xLabel}
        </text>
        <text x={P + 4} y={14}>
          {props.yLabel}
        </text>
      </svg>
    </figure>
  );
}
