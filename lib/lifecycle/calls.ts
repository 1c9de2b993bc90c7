/**
 * Counts the AWS requests a round makes, per service, so every decision line reports its cost.
 * The proxy keeps the client's prototype, so SDK paginators still accept it.
 */
export type CallCounts = Record<string, number>;

export function countingClient<C extends { send: (...args: never[]) => unknown }>(
  client: C,
  service: string,
  counts: CallCounts,
  onOutcome?: (ok: boolean) => void,
): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (...args: Parameters<C['send']>) => {
        counts[service] = (counts[service] ?? 0) + 1;
        const sent = target.send(...args);
        // Which service failed, and whether Auto Scaling still answers, are inputs of the decision (decide.ts).
        if (onOutcome && sent instanceof Promise) sent.then(() => onOutcome(true), () => onOutcome(false));
        return sent;
      };
    },
  });
}
