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
      'elk.edgeRouting': 'ORTHOGONAL',
      // Each model as far left as its inputs allow: lanes stay narrow and sources sit beside their readers.
      'elk.layered.layering.strategy': 'LONGEST_PATH_SOURCE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
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

/** The point a given share of the way along a polyline (by length). */
export function pointAlong(points: { x: number; y: number }[], share: number): { x: number; y: number } {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p.x - points[i]!.x, p.y - points[i]!.y));
  let remaining = lengths.reduce((a, b) => a + b, 0) * share;
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
