@R8 @R7 @prompts
Feature: The CloudHSM CLI prompts for passwords, and only a key's owner deletes it
  docs/runbooks.md, R8 as the page types it (login --username admin --role
  admin, then Enter password:), and R7's rule that only the crypto user that
  owns a key can delete it. A CloudHSM CLI line without --password prompts
  as the real CLI does; "and enter the password" answers the prompts.

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  Scenario: the documented sequence, typing the passwords at the prompts
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "adminPassword1"
    Then the response has "data.username" equal to "admin"
    When I run "user change-password --username kmsuser --role crypto-user" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "knownPass1" then confirm "knownPass2"
    Then the CloudHSM CLI reports an error containing "Passwords do not match"
    When I run "user change-password --username kmsuser --role crypto-user" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "knownPass1"
    Then the response has "data.username" equal to "kmsuser"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user" on cluster "cluster-1a23b4cdefg" as "kms" and enter the password "knownPass1"
    Then the response has "data.role" equal to "crypto-user"

  Scenario: a crypto user a key is shared with cannot delete it
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "knownPass1"
    And I run "login --username admin --role admin" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "adminPassword1"
    And I run "user create --username alice --role crypto-user" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "alicePass1"
    And I run "logout" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "login --username kmsuser --role crypto-user" on cluster "cluster-1a23b4cdefg" as "kms" and enter the password "knownPass1"
    And I run "key generate-symmetric aes --label drill-key --key-length-bytes 16 --share-crypto-users alice" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.key.attributes."key-length-bytes"" equal to "16"
    When I run "login --username alice --role crypto-user" on cluster "cluster-1a23b4cdefg" as "alice" and enter the password "alicePass1"
    And I run "key delete --filter attr.label=drill-key" on cluster "cluster-1a23b4cdefg" as "alice"
    Then the CloudHSM CLI reports an error containing "Only the key owner can delete this key"
    When I run "key delete --filter attr.label=drill-key" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.message" equal to "Key deleted successfully"
