/** Types of chart-data.js, for the tests (the browser loads the .js as is; no build step). */
import type { MetricsJson, MinutePoint, ServiceMetrics } from '../../src/observability/metrics-json.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type ServiceState = 'healthy' | 'degraded' | 'down' | 'unknown';

/** One service of `GET /health/services`. */
export interface ServiceHealth {
  name: string;
  status: ServiceState;
  instances: {
    id: string;
    url: string;
    status: 'healthy' | 'unhealthy' | 'unknown';
    lastCheckAt: number | null;
    latencyMs: number | null;
    consecutiveFailures: number;
    figures: Record<string, number>;
  }[];
}

/** One alert of `GET /alerts/alerts`. */
export interface Alert {
  id: string;
  rule: string;
  service: string;
  severity: Severity;
  status: 'active' | 'acknowledged' | 'resolved';
  value: number;
  threshold: number;
  message: string;
  firedAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
}

export interface ChartColumns {
  requests: [number[], number[]];
  errors: [number[], (number | null)[]];
  latency: [number[], (number | null)[], (number | null)[], (number | null)[]];
}

export interface FleetSummary {
  traffic: { requests: number; errors: number; rateLimited: number; requestsPerSecond: number; errorRate: number | null } | null;
  services: Record<ServiceState, number> | null;
  alerts: Record<Severity, number> | null;
}

export interface ServiceRow {
  name: string;
  metrics: ServiceMetrics | null;
  health: ServiceHealth | null;
  alerts: Alert[] | null;
}

export const SEVERITIES: Severity[];
export const SERVICE_STATES: ServiceState[];
export const RANGES: Record<'15m' | '60m' | '24h', { label: string; query: string }>;
export function toChartColumns(series: MinutePoint[]): ChartColumns;
export function hasTraffic(service: ServiceMetrics): boolean;
export function ratio(errors: number, requests: number): number | null;
export function fleetSummary(metrics: MetricsJson | null, health: { services: ServiceHealth[] } | null, alerts: Alert[] | null): FleetSummary;
export function sortAlerts(alerts: Alert[]): Alert[];
export function joinServices(metrics: MetricsJson | null, health: { services: ServiceHealth[] } | null, alerts: Alert[] | null): ServiceRow[];
export function formatCount(value: number): string;
export function formatRate(value: number): string;
export function formatPercent(value: number | null | undefined): string;
export function formatMs(value: number | null | undefined): string;
export function formatAge(at: number | null | undefined, now: number): string;
export function describeFailure(failure: { status: number; title?: string }): string;
