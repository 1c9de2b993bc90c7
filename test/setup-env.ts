// Tests never reach AWS: fixed Region and dummy credentials, and no SDK endpoint discovery.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'AKIDTESTING';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
process.env.SLS_TELEMETRY_DISABLED = '1';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// The SDK warns once per process that Node 20 support ends; tests run on Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
