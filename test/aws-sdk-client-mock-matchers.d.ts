// Loads the type declarations of the aws-sdk-client-mock matchers that jest.config.js registers.
import 'aws-sdk-client-mock-jest';
