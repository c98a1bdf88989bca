@R2
Feature: R2. Failed KMS keys
  docs/runbooks.md, R2 (translated from scenarios/r2-failed-keys.runbook).
  With the store disconnected its keys are Unavailable: CreateKey in the store
  raises CustomKeyStoreInvalidStateException, and Encrypt, Decrypt, ReEncrypt
  and GenerateDataKey(*) raise KMSInvalidStateException; the fix is to
  reconnect. Operations can also fail while the key is Enabled and the store
  CONNECTED: the key's material was deleted from the cluster, every HSM was
  removed, the cluster was deleted, or the cluster has no free PKCS #11
  session (a burst of traffic; back off and retry).

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  Scenario: disconnected: CreateKey and every cryptographic operation fail; reconnecting fixes them
    When I encrypt "made while connected" with "alias/app" as "before"
    And I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED
    And the KeyState of "alias/app" is Unavailable

    # No key can be created in a store that is not CONNECTED.
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    Then it fails with CustomKeyStoreInvalidStateException "DISCONNECTED"

    # Every cryptographic operation: KMSInvalidStateException.
    When I call Encrypt with:
      | KeyId     | alias/app |
      | Plaintext | aGVsbG8=  |
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call Decrypt with:
      | CiphertextBlob | $before |
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call ReEncrypt with:
      | CiphertextBlob   | $before   |
      | DestinationKeyId | alias/app |
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call GenerateDataKeyWithoutPlaintext with:
      | KeyId         | alias/app |
      | NumberOfBytes | 32        |
    Then it fails with KMSInvalidStateException "is unavailable."

    # The fix: reconnect. Everything works again.
    When I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    When I call Encrypt with:
      | KeyId     | alias/app |
      | Plaintext | aGVsbG8=  |
    Then it succeeds
    When I call Decrypt with:
      | CiphertextBlob | $before |
    Then it succeeds
    # base64 of "made while connected"
    And the response has "Plaintext" equal to "bWFkZSB3aGlsZSBjb25uZWN0ZWQ="
    When I call ReEncrypt with:
      | CiphertextBlob   | $before   |
      | DestinationKeyId | alias/app |
    And I remember "CiphertextBlob" of the response as "reencrypted"
    Then "$reencrypted" decrypts to "made while connected"
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it succeeds
    When I call GenerateDataKeyWithoutPlaintext with:
      | KeyId         | alias/app |
      | NumberOfBytes | 32        |
    Then it succeeds
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    And I remember "KeyMetadata.KeyId" of the response as "created"
    Then the KeyState of "$created" is Enabled

  @R3
  Scenario: a FAILED store refuses CreateKey like a disconnected one
    When I disconnect the custom key store "ExampleKeyStore"
    And the next 1 connects to cluster "cluster-1a23b4cdefg" fail internally
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INTERNAL_ERROR
    When I call CreateKey with:
      | CustomKeyStoreId | $ExampleKeyStore |
      | Origin           | AWS_CLOUDHSM     |
    Then it fails with CustomKeyStoreInvalidStateException "FAILED"
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."

  Scenario: every HSM removed: crypto fails while CONNECTED and Enabled; CreateHsm fixes it
    When I encrypt "made with two HSMs" with "alias/app" as "before"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
    And the response has "Clusters[0].Hsms[1].State" equal to "ACTIVE"

    When every HSM of cluster "cluster-1a23b4cdefg" is deleted
    # DescribeClusters shows the HSMs: none are left.
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms" equal to "[]"
    # Nothing in KMS looks wrong...
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    # ...but crypto needs at least one active HSM.
    And encrypting with "alias/app" fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"

    # CreateHsm adds one; it serves once it is ACTIVE.
    When I call CreateHsm with:
      | ClusterId        | cluster-1a23b4cdefg |
      | AvailabilityZone | us-west-2a          |
    And I remember "Hsm.HsmId" of the response as "hsm"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms[0].HsmId" equal to "$hsm"
    And the response has "Clusters[0].Hsms[0].State" equal to "CREATE_IN_PROGRESS"
    And encrypting with "alias/app" fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
    When pending work settles
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
    And "$before" decrypts to "made with two HSMs"
    When I encrypt "made with one HSM" with "alias/app"
    Then it succeeds

  @R7
  Scenario: cluster deleted: crypto fails while CONNECTED and Enabled
    When I encrypt "made before the cluster went" with "alias/app" as "before"
    And cluster "cluster-1a23b4cdefg" is deleted
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "DELETED"
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    And encrypting with "alias/app" fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"

    # The way back is R7: a cluster from a backup taken while the key existed.
    When I call DescribeBackups with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Backups[0].BackupId" equal to "backup-9g87f6edcba"
    And the response has "Backups[0].BackupState" equal to "READY"

  @R7
  Scenario: key material deleted from the cluster: crypto fails while CONNECTED and Enabled
    When I encrypt "made before the material went" with "alias/app" as "before"

    # As kmsuser (R8): disconnect, set a known password, log in, delete the
    # key whose label is the KMS key ARN, log out, tell KMS, reconnect (R9).
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "tempPass123"
    And I run "login --username kmsuser --role crypto-user --password tempPass123" on cluster "cluster-1a23b4cdefg" as "kms"
    And I run "key delete --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.message" equal to "Key deleted successfully"
    When I run "logout" on cluster "cluster-1a23b4cdefg" as "kms"
    And I tell the custom key store "ExampleKeyStore" that the kmsuser password is "tempPass123"
    And I reconnect the custom key store "ExampleKeyStore"
    And the connection attempt completes

    # The store connects and the key still reads Enabled (Unavailable only
    # after a delay: docs/fidelity.md F25, I53), yet no cryptographic
    # operation works, old ciphertext included.
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled
    And encrypting with "alias/app" fails with KMSInvalidStateException "is unavailable."
    When I decrypt "$before"
    Then it fails with KMSInvalidStateException "is unavailable."
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInvalidStateException "is unavailable."

  Scenario: no free PKCS #11 session: KMSInternalException naming PKCS #11, and a retry after the burst succeeds
    When the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are exhausted
    Then encrypting with "alias/app" fails with KMSInternalException "PKCS #11"
    When I call GenerateDataKey with:
      | KeyId   | alias/app |
      | KeySpec | AES_256   |
    Then it fails with KMSInternalException "no free PKCS #11 sessions"
    # The store and the key are fine; only the burst is in the way.
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    And the KeyState of "alias/app" is Enabled

    # Backing off does not help while the sessions are held...
    When I repeat 3 times:
      """
      When I wait 100 ms
      And I encrypt "x" with "alias/app"
      Then it fails with KMSInternalException "PKCS #11"
      """
    # ...and does once the burst is over.
    When the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are released
    And I retry up to 5 times every 100 ms: I encrypt "after the burst" with "alias/app" as "after"
    Then "$after" decrypts to "after the burst"
