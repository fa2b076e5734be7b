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
  /** The centre of each edge's label (by edge id), when the layout was asked to make room for labels. */
  labels: Map<string, { x: number; y: number }>;
}

export interface LabelSize {
  width: number;
  height: number;
}

/** How many times the gaps where labels crowd may widen: each time by a label's width. */
const MAX_WIDENINGS = 6;

let elk: Promise<ElkEngine> | undefined;

/** ELK is a large bundle: it loads on the first layout, after the app has rendered. */
function loadElk(): Promise<ElkEngine> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(({ default: ELK }) => new ELK());
  return elk;
}

/**
 * Lays a DAG out left to right with ELK's layered algorithm, partitions kept in order as column bands
 * and edges routed orthogonally between the columns. Given a label size (the widest label an edge may
 * get), each edge gets a spot for its label that covers no card and no other label, the gap before a
 * layer widening where edges fan in too closely for their labels to sit apart.
 */
export async function layoutGraph(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  label?: LabelSize,
): Promise<GraphLayout> {
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
  let layout: GraphLayout = {
    width: result.width ?? 0,
    height: result.height ?? 0,
    nodes: placed,
    edges: placedEdges,
    labels: new Map(),
  };
  if (!label) return layout;
  for (let widenings = 0; ; widenings++) {
    const { centres, crowded } = placeEdgeLabels(layout, () => label);
    if (crowded.length === 0 || widenings === MAX_WIDENINGS) return { ...layout, labels: centres };
    // A crowded label has no free spot near its target, where its edge fans in with the others: the gap
    // before the target's layer widens, which lengthens their last segments. Right to left, so each
    // layer's x is still where it was found.
    const layersAt = crowded.map(
      (id) => layout.nodes.get(layout.edges.find((e) => e.id === id)?.to ?? '')?.x,
    );
    const gaps = [...new Set(layersAt.filter((x) => x !== undefined))].sort((a, b) => b - a);
    for (const x of gaps) layout = widenBefore(layout, x, label.width);
  }
}

/**
 * Moves everything from `at` rightwards by `by`: the gap before the layer starting at `at` widens. Bends
 * in that gap stay, so the segments from them into the layer get longer and stay orthogonal.
 */
function widenBefore(layout: GraphLayout, at: number, by: number): GraphLayout {
  const move = (x: number) => (x >= at - 0.5 ? x + by : x);
  return {
    ...layout,
    width: layout.width + by,
    nodes: new Map([...layout.nodes].map(([id, n]) => [id, { ...n, x: move(n.x) }])),
    edges: layout.edges.map((e) => ({ ...e, points: e.points.map((p) => ({ x: move(p.x), y: p.y })) })),
  };
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

export interface LabelPlacement {
  /** The centre of each labelled edge's label box, by edge id. */
  centres: Map<string, { x: number; y: number }>;
  /** The edges whose label found no free spot: it sits where it covers the least. */
  crowded: string[];
}

/**
 * A centre for each labelled edge's label box (by edge id): the point along the edge nearest the
 * preferred share where the box overlaps no node and no label placed before it; when none is free, the
 * spot covering the least, and the edge is named crowded.
 */
export function placeEdgeLabels(
  layout: GraphLayout,
  sizeOf: (edge: PlacedEdge) => LabelSize | undefined,
): LabelPlacement {
  const nodes: Box[] = [...layout.nodes.values()].map((n) => ({
    x: n.x,
    y: n.y,
    width: n.width,
    height: n.height,
  }));
  const taken: Box[] = [];
  const placed = new Map<string, { x: number; y: number }>();
  const crowded: string[] = [];
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
    const free = candidates.find((b) => covered(b) === 0);
    if (!free) crowded.push(edge.id);
    const box = free ?? minBy(candidates, covered);
    taken.push(box);
    placed.set(edge.id, { x: box.x + size.width / 2, y: box.y + size.height / 2 });
  }
  return { centres: placed, crowded };
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
