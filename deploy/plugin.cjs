'use strict';
// A local Serverless Framework plugin for what variables alone cannot express:
// - resources generated from the stage's settings (deploy/settings.cjs): the termination hooks on
//   existing groups, and the sweeper's and the lifecycle drainer's optional reserved concurrency;
// - alarms, the alarm topic and the dashboard (deploy/alarms.cjs), built from the metric catalogue
//   and from the queues and functions of the compiled template;
// - `serverless invoke local` ends with a non-zero exit code when the handler fails to load. The
//   framework prints the error, but a handle left open by the bundler keeps the process alive; the
//   exit is forced only after a failed invoke, so a running handler is never cut short.

const { buildMonitoring } = require('./alarms.cjs');

class EcsEc2KeeperPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.addGeneratedResources(), 'before:invoke:local:invoke': () => this.exitOnFailedInvoke() };
  }

  settings() {
    return this.serverless.service.custom.settings;
  }

  addGeneratedResources() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const settings = this.settings();
    const subscriptions = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::SNS::Subscription' && JSON.stringify(resource.Properties.TopicArn) === '{"Ref":"LifecycleTopic"}')
      .map(([id]) => id);
    for (const [id, hook] of Object.entries(settings.lifecycleHooks)) {
      template.Resources[id] = { ...hook, DependsOn: [...hook.DependsOn, ...subscriptions] };
    }
    const sweeper = template.Resources.ScaleInSweeperLambdaFunction;
    if (sweeper && settings.sweeperReservedConcurrency) sweeper.Properties.ReservedConcurrentExecutions = settings.sweeperReservedConcurrency;
    // Reserved concurrency is also the function's maximum: a scale-in cannot take the account's
    // unreserved pool that Spot warnings need (docs/aws-behaviour.md §8.3).
    const lifecycle = template.Resources.LifecycleHookLambdaFunction;
    if (lifecycle && settings.lifecycleReservedConcurrency) lifecycle.Properties.ReservedConcurrentExecutions = settings.lifecycleReservedConcurrency;
    // serverless.yml's own resources are merged into the template after this hook: both are read.
    const declared = this.serverless.service.resources?.Resources ?? {};
    const monitoring = buildMonitoring({ resources: { ...template.Resources, ...declared }, ...settings.monitoring });
    for (const id of Object.keys(monitoring.Resources)) {
      if (template.Resources[id] || declared[id]) throw new Error(`deploy/alarms.cjs: resource ${id} already exists in the template`);
    }
    Object.assign(template.Resources, monitoring.Resources);
    template.Outputs = { ...(template.Outputs ?? {}), ...monitoring.Outputs };
  }

  exitOnFailedInvoke() {
    const invoker = this.serverless.pluginManager.plugins.find((plugin) => plugin.constructor.name === 'AwsInvokeLocal');
    if (!invoker || invoker.ecsEc2KeeperWrapped) return;
    const invokeLocal = invoker.invokeLocal.bind(invoker);
    invoker.ecsEc2KeeperWrapped = true;
    invoker.invokeLocal = async (...args) => {
      try {
        return await invokeLocal(...args);
      } catch (error) {
        process.exitCode = 1;
        // Unref'd: fires only if something else keeps the process alive after the error is printed.
        setTimeout(() => process.exit(1), 3000).unref();
        throw error;
      }
    };
  }
}

module.exports = EcsEc2KeeperPlugin;
