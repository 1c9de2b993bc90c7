import { AwsApiError } from '../api';
import { ACCOUNT, REGION, type SnsRecord, type Topic } from './model';
import type { WorldState } from './state';

/** SNS: topics, and delivery of each published message to the topic's Lambda subscribers. */
export class SnsRules {
  constructor(private readonly world: WorldState) {}

  createTopic(name: string): Topic {
    const topic = { arn: `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`, name };
    this.world.topics.set(topic.arn, topic);
    return topic;
  }

  /** Publishes to a topic and hands the Lambda record to every subscriber. */
  publish(topicArn: string, message: string, subject?: string, attributes: Record<string, { Type: string; Value: string }> = {}): string {
    const topic = this.world.topics.get(topicArn);
    if (!topic) throw new AwsApiError('NotFound', 'Topic does not exist', 404);
    const messageId = this.world.random.uuid();
    const subscription = `${topic.arn}:${this.world.random.uuid()}`;
    const record: SnsRecord = {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: subscription,
      Sns: {
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic.arn,
        Subject: subject ?? null,
        Message: message,
        Timestamp: new Date(this.world.now()).toISOString(),
        SignatureVersion: '1',
        Signature: 'c2ltdWxhdGVk',
        SigningCertUrl: `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem`,
        UnsubscribeUrl: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscription}`,
        MessageAttributes: attributes,
      },
    };
    this.world.record('sns', 'message published', { topic: topic.name, messageId });
    for (const listener of this.world.topicListeners.get(topic.arn) ?? []) listener(record);
    return messageId;
  }
}
