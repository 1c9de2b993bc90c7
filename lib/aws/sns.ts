import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

export interface SnsMessage {
  topicArn: string;
  /** Under 100 characters, without line breaks (aws-behaviour.md §4). */
  subject: string;
  /** At most 256 KB (aws-behaviour.md §4). */
  message: string;
}

/**
 * Publishes one message; returns the id SNS gave it. Limits:
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 */
export async function publish(sns: SNSClient, { topicArn, subject, message }: SnsMessage): Promise<string | undefined> {
  const response = await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
  return response.MessageId;
}
