import type { Layer, ModelInfo } from '../../../../engine/api/contract.ts';
import { type GraphLayout, layoutGraph } from '../../components/graph-layout.ts';
import type { CardState } from './cards.ts';
import { ModelCard } from './ModelCard.tsx';

const LANES: Layer[] = ['bronze', 'silver', 'gold'];
const CARD_WIDTH = 186;
const CARD_HEIGHT = 66;
const LANE_HEADER = 30;
const LANE_PAD = 10;
/**
 * The box the layout keeps free for each edge's label: the widest text compactNumber gives (5 characters,
 * e.g. 9,999 or 1000k) at 11px, with padding and border. Every label fits it, so labels placed once per
 * layout stay apart whatever counts a run brings, and do not move when the counts change.
 */
const EDGE_LABEL = { width: 5 * 6.6 + 12, height: 17 };

/** Places the models' cards in bronze, silver and gold lanes, left to right, and routes the edges between them. */
export function layoutPipeline(models: ModelInfo[]): Promise<GraphLayout> {
  return layoutGraph(
    models.map((m) => ({
      id: m.id,
      partition: LANES.indexOf(m.layer),
      width: CARD_WIDTH,
      height: CARD_HEIGHT,
    })),
    models.flatMap((m) => m.upstream.map((up) => ({ id: `${up}->${m.id}`, from: up, to: m.id }))),
    EDGE_LABEL,
  );
}

/**
 * The laid-out graph, scaled to fit the view: lanes, edges with the rows that flowed along them, and a
 * card per model; a click on a card focuses it.
 */
export function GraphCanvas({
  layout,
  models,
  cards,
  edgeRows,
  focused,
  onFocus,
  available,
}: {
  available: { width: number; height: number };
  layout: GraphLayout;
  models: ModelInfo[];
  cards: Map<string, CardState>;
  edgeRows: Map<string, number | null>;
  focused: string | null;
  onFocus: (id: string) => void;
}) {
  const offsetY = LANE_HEADER + LANE_PAD;
  const offsetX = LANE_PAD;
  // Each lane is the band of columns its models were placed in.
  const lanes = LANES.map((layer) => {
    const xs = models
      .filter((m) => m.layer === layer)
      .map((m) => layout.nodes.get(m.id)?.x)
      .filter((x): x is number => x !== undefined);
    if (xs.length === 0) return null;
    const left = Math.min(...xs);
    const right = Math.max(...xs) + CARD_WIDTH;
    return { layer, left, right, count: xs.length };
  }).filter((lane) => lane !== null);
  const width = layout.width + 2 * LANE_PAD;
  const height = layout.height + offsetY + LANE_PAD;
  // Shrunk to fit the view (down to 55%, then it scrolls), so the whole pipeline shows at 1280x800 and
  // the example's fits a 900 px window too (at 60% its right-most cards sat just past the edge).
  const scale = Math.max(0.55, Math.min(1, (available.width - 4) / width, (available.height - 4) / height));
  return (
    <div style={{ width: width * scale, height: height * scale }}>
      <div
        className="graph-canvas"
        data-scale={scale.toFixed(2)}
        style={{ width, height, transform: `scale(${scale})`, transformOrigin: '0 0' }}
      >
        {lanes.map((lane) => (
          <div
            key={lane.layer}
            className={`graph-lane lane-${lane.layer}`}
            data-testid={`lane-${lane.layer}`}
            style={{ left: lane.left + offsetX - 8, width: lane.right - lane.left + 16, height }}
          >
            <h2 className="lane-title">
              {lane.layer} <span className="muted">({lane.count})</span>
            </h2>
          </div>
        ))}
        <svg className="graph-edges" width={width} height={height} aria-hidden="true">
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 8 8"
              refX="7"
              refY="4"
              markerWidth="7"
              markerHeight="7"
              orient="auto"
            >
              <path d="M0,0 L8,4 L0,8 z" className="graph-arrow" />
            </marker>
          </defs>
          {layout.edges.map((edge) => {
            const points = edge.points.map((p) => `${p.x + offsetX},${p.y + offsetY}`).join(' ');
            const active = focused !== null && (edge.from === focused || edge.to === focused);
            return (
              <polyline
                key={edge.id}
                points={points}
                className={`graph-edge${active ? ' active' : ''}`}
                markerEnd="url(#arrow)"
              />
            );
          })}
        </svg>
        {layout.edges.map((edge) => {
          const rows = edgeRows.get(edge.id);
          if (rows === undefined || rows === null) return null;
          const at = layout.labels.get(edge.id);
          if (!at) return null;
          return (
            <span
              key={edge.id}
              className="edge-label"
              data-testid={`edge-label-${edge.id}`}
              data-rows={rows}
              title={`${edge.from} → ${edge.to}: ${rows.toLocaleString()} rows`}
              style={{ left: at.x + offsetX, top: at.y + offsetY }}
            >
              {compactNumber(rows)}
            </span>
          );
        })}
        {models.map((m) => {
          const node = layout.nodes.get(m.id);
          if (!node) return null;
          return (
            <ModelCard
              key={m.id}
              model={m}
              state={cards.get(m.id)}
              focused={focused === m.id}
              onFocus={() => onFocus(m.id)}
              style={{
                left: node.x + offsetX,
                top: node.y + offsetY,
                width: CARD_WIDTH,
                height: CARD_HEIGHT,
              }}
            />
          );
        })}
      </div>
    </div>
  );
}

/** A count in at most 5 characters, the room EDGE_LABEL keeps for it. */
function compactNumber(n: number): string {
  if (n >= 1_000_000_000) return `${(n / 1_000_000_000).toFixed(n >= 10_000_000_000 ? 0 : 1)}B`;
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return n.toLocaleString();
}
