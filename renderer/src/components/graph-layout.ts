import type { ELK as ElkEngine, ElkNode } from 'elkjs/lib/elk-api';

export interface LayoutNode {
  id: string;
  /** Nodes of one partition share a band of columns, left to right by partition (e.g. bronze, silver, gold). */
  partition: number;
  width: number;
  height: number;
}

export interface LayoutEdge {
  id: string;
  from: string;
  to: string;
}

export interface PlacedNode extends LayoutNode {
  x: number;
  y: number;
}

export interface PlacedEdge extends LayoutEdge {
  /** Polyline from the source's side to the target's side. */
  points: { x: number; y: number }[];
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: Map<string, PlacedNode>;
  edges: PlacedEdge[];
}

let elk: Promise<ElkEngine> | undefined;

/** ELK is a large bundle: it loads on the first layout, after the app has rendered. */
function loadElk(): Promise<ElkEngine> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(({ default: ELK }) => new ELK());
  return elk;
}

/**
 * Lays a DAG out left to right with ELK's layered algorithm, partitions kept in order as column bands
 * and edges routed orthogonally between the columns.
 */
export async function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Promise<GraphLayout> {
  const input: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.partitioning.activate': 'true',
      // One layout for the whole graph: ELK lays each connected component out on its own, and a model
      // with no inputs or readers then sat in the first column whatever its partition (a gold lookup
      // table in the bronze lane, the lanes overlapping).
      'elk.separateConnectedComponents': 'false',
      'elk.edgeRouting': 'ORTHOGONAL',
      // Each model as far left as its inputs allow: lanes stay narrow and sources sit beside their readers.
      'elk.layered.layering.strategy': 'LONGEST_PATH_SOURCE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '12',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.padding': '[top=0,left=0,bottom=0,right=0]',
    },
    children: nodes.map((n) => ({
      id: n.id,
      width: n.width,
      height: n.height,
      layoutOptions: { 'elk.partitioning.partition': String(n.partition) },
    })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const result = await (await loadElk()).layout(input);
  const placed = new Map<string, PlacedNode>();
  for (const child of result.children ?? []) {
    const node = nodes.find((n) => n.id === child.id);
    if (node) placed.set(node.id, { ...node, x: child.x ?? 0, y: child.y ?? 0 });
  }
  const placedEdges: PlacedEdge[] = [];
  for (const edge of result.edges ?? []) {
    const source = edges.find((e) => e.id === edge.id);
    const section = edge.sections?.[0];
    if (!source || !section) continue;
    placedEdges.push({
      ...source,
      points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint],
    });
  }
  return { width: result.width ?? 0, height: result.height ?? 0, nodes: placed, edges: placedEdges };
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

// Where along its edge a label may go, best first: near the target (edges into one model fan in there,
// so their last segments are apart), then every 4% of the way out from there.
const PREFERRED_SHARE = 0.72;
const LABEL_SHARES = Array.from({ length: 23 }, (_, i) => 0.04 * (i + 1)).sort(
  (a, b) => Math.abs(a - PREFERRED_SHARE) - Math.abs(b - PREFERRED_SHARE),
);

/**
 * A centre for each labelled edge's label box (by edge id): the point along the edge nearest the
 * preferred share where the box overlaps no node and no label placed before it; the preferred point when
 * none is free. Placing after layout keeps the graph as compact as ELK made it.
 */
export function placeEdgeLabels(
  layout: GraphLayout,
  sizeOf: (edge: PlacedEdge) => { width: number; height: number } | undefined,
): Map<string, { x: number; y: number }> {
  const nodes: Box[] = [...layout.nodes.values()].map((n) => ({
    x: n.x,
    y: n.y,
    width: n.width,
    height: n.height,
  }));
  const taken: Box[] = [];
  const placed = new Map<string, { x: number; y: number }>();
  // Shortest edges first: they have the fewest spots, longer ones can move out of their way.
  const byLength = [...layout.edges].sort((a, b) => pathLength(a.points) - pathLength(b.points));
  for (const edge of byLength) {
    const size = sizeOf(edge);
    if (!size) continue;
    const boxAt = (share: number) => {
      const centre = pointAlong(edge.points, share);
      return { x: centre.x - size.width / 2, y: centre.y - size.height / 2, ...size };
    };
    // Where no spot is free (edges fanning into one side of a model a few pixels apart), the spot
    // that covers the least of what is already placed.
    // A card hidden under a label is worse than two labels touching.
    const covered = (b: Box) =>
      taken.reduce((area, t) => area + overlapArea(b, t), 0) +
      nodes.reduce((area, n) => area + 4 * overlapArea(b, n), 0);
    const candidates = LABEL_SHARES.map(boxAt);
    const box = candidates.find((b) => covered(b) === 0) ?? minBy(candidates, covered);
    taken.push(box);
    placed.set(edge.id, { x: box.x + size.width / 2, y: box.y + size.height / 2 });
  }
  return placed;
}

function pathLength(points: { x: number; y: number }[]): number {
  return points.slice(1).reduce((sum, p, i) => sum + Math.hypot(p.x - points[i]!.x, p.y - points[i]!.y), 0);
}

function overlapArea(a: Box, b: Box): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

function minBy<T>(items: T[], score: (item: T) => number): T {
  return items.reduce((best, item) => (score(item) < score(best) ? item : best));
}

/** The point a given share of the way along a polyline (by length). */
export function pointAlong(points: { x: number; y: number }[], share: number): { x: number; y: number } {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p.x - points[i]!.x, p.y - points[i]!.y));
  let remaining = pathLength(points) * share;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i]!;
    if (remaining <= length && length > 0) {
      const a = points[i]!;
      const b = points[i + 1]!;
      const t = remaining / length;
      return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
    }
    remaining -= length;
  }
  return points.at(-1) ?? { x: 0, y: 0 };
}
